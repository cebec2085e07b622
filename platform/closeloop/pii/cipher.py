"""Per-tenant encryption of personal data, keyed hashes for exact search, and masks.

Each tenant has a random 256-bit data key, stored wrapped (AES-GCM) by the
deployment's master key (`CLOSELOOP_MASTER_KEY`). Values are encrypted with
AES-GCM under the tenant key, the tenant id bound as associated data, so a value
copied into another tenant's row does not decrypt. Phone numbers and e-mail
addresses also get a keyed hash (HMAC-SHA256 under a key derived from the tenant
key), which finds exact matches without storing plaintext.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from closeloop.db import TenantNotBound, bound_tenant, new_id
from closeloop.pii.models import TenantKey
from closeloop.settings import Settings

__all__ = [
    "CACHE_SIZE",
    "KEY_VERSION",
    "TenantCipher",
    "cipher_for",
    "clear_cache",
    "load_master_key",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_email",
    "normalize_phone",
]

_VERSION = b"\x01"
_NONCE = 12


def load_master_key(settings: Settings) -> bytes:
    """The master key from the settings; the embedded default keeps one in its data folder."""
    if settings.master_key:
        return base64.urlsafe_b64decode(settings.master_key + "=" * (-len(settings.master_key) % 4))
    path = Path(settings.data_dir) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(os.urandom(32)))
    return base64.urlsafe_b64decode(path.read_bytes().strip())


def normalize_phone(phone: str) -> str:
    """Digits only, without the international prefix of a Chinese number:
    `+86 138-1234-5678`, `0086 13812345678` and `(138) 1234 5678` are all `13812345678`."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("00"):
        digits = digits[2:]
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def normalize_email(email: str) -> str:
    return email.strip().lower()


class TenantCipher:
    def __init__(self, tenant_id: uuid.UUID, data_key: bytes) -> None:
        self.tenant_id = tenant_id
        self._aead = AESGCM(data_key)
        self._index_key = hmac.new(data_key, b"closeloop blind index", hashlib.sha256).digest()

    def encrypt(self, value: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, value.encode(), self.tenant_id.bytes)

    def decrypt(self, blob: bytes) -> str:
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, body, self.tenant_id.bytes).decode()

    def blind_index(self, kind: str, value: str) -> bytes:
        """Keyed hash of a normalized phone (`kind="phone"`) or e-mail (`kind="email"`)."""
        normal = normalize_phone(value) if kind == "phone" else normalize_email(value)
        return hmac.new(self._index_key, f"{kind}:{normal}".encode(), hashlib.sha256).digest()


# The version of every tenant's data key. Keys are made at version 1 by `cipher_for`
# (the only writer of `tenant_keys`) and nothing rotates them, so the current version is
# known without asking the database, and a version's key bytes never change. A rotation
# would have to stamp each ciphertext with its key version and read the tenant's current
# version here; the cache below is already keyed by version for that.
KEY_VERSION = 1

# Ciphers of keys known to be committed, per process, by (master key, tenant, version);
# the least recently used go first beyond `CACHE_SIZE` tenants. A key made in a
# transaction that is still open is kept in the session only, until that transaction
# commits: were it rolled back, a cached key would go on encrypting data under a key no
# database row holds.
CACHE_SIZE = 1024
_Key = tuple[bytes, uuid.UUID, int]
_cache: collections.OrderedDict[_Key, TenantCipher] = collections.OrderedDict()
_cache_lock = threading.Lock()
_UNCOMMITTED = "closeloop.uncommitted_tenant_keys"  # cache key -> cipher
_MADE = "closeloop.tenant_keys_made"  # tenants whose key this transaction made


def _cached(key: _Key) -> TenantCipher | None:
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
        return found


def _keep(key: _Key, cipher: TenantCipher) -> None:
    with _cache_lock:
        _cache[key] = cipher
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every cached cipher (as after a restart)."""
    with _cache_lock:
        _cache.clear()


@event.listens_for(Session, "after_commit")
def _keep_committed_keys(session: Session) -> None:
    # Also called when a savepoint is released: only the top-level commit counts.
    if not session.in_nested_transaction():
        for key, cipher in session.info.pop(_UNCOMMITTED, {}).items():
            _keep(key, cipher)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted_keys(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_UNCOMMITTED, None)
        session.info.pop(_MADE, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_keys(session: Session, previous_transaction: Any) -> None:
    # A savepoint rolled back may have taken a key's row with it: look for it again.
    session.info.pop(_UNCOMMITTED, None)


async def cipher_for(session: AsyncSession, settings: Settings) -> TenantCipher:
    """The bound tenant's cipher; its data key is made on first use.

    Once the key's row is known to be committed, its cipher is kept for the process and
    later calls ask the database nothing.
    """
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("PII keys belong to a tenant; bind one first")
    master = load_master_key(settings)
    key = (master, tenant_id, KEY_VERSION)
    uncommitted: dict[_Key, TenantCipher] = session.info.setdefault(_UNCOMMITTED, {})
    cached = _cached(key) or uncommitted.get(key)
    if cached is not None:
        return cached
    wrapper = AESGCM(master)
    row = await session.scalar(select(TenantKey).where(TenantKey.version == KEY_VERSION))
    made: set[uuid.UUID] = session.info.setdefault(_MADE, set())
    if row is None:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        inserted = await session.scalar(
            insert(TenantKey)
            .values(
                tenant_id=tenant_id,
                id=new_id(),
                version=KEY_VERSION,
                wrapped_key=nonce + wrapper.encrypt(nonce, data_key, tenant_id.bytes),
            )
            .on_conflict_do_nothing()
            .returning(TenantKey)
        )
        if inserted is not None:
            made.add(tenant_id)
        # Otherwise another request made it first (and committed it): use theirs.
        row = inserted or await session.scalar(
            select(TenantKey).where(TenantKey.version == KEY_VERSION)
        )
        assert row is not None
    data_key = wrapper.decrypt(row.wrapped_key[:_NONCE], row.wrapped_key[_NONCE:], tenant_id.bytes)
    cipher = TenantCipher(tenant_id, data_key)
    if tenant_id in made:  # the row is this transaction's own, not yet committed
        uncommitted[key] = cipher
    else:
        _keep(key, cipher)
    return cipher


def mask_name(name: str) -> str:
    """`张三` → `张*`, `王小明` → `王**`, `John Smith` → `J*** S****`."""
    if " " in name.strip():
        return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`."""
    digits = normalize_phone(phone)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_email(email: str) -> str:
    """`zhang.san@example.com` → `z********@example.com`."""
    local, _, domain = email.partition("@")
    return local[:1] + "*" * max(len(local) - 1, 1) + ("@" + domain if domain else "")


def mask_id_number(number: str) -> str:
    """An ID number keeps its first 3 and last 4 characters."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
