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
import hashlib
import hmac
import os
import re
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from closeloop.db import TenantNotBound, add_in_savepoint, bound_tenant, new_id
from closeloop.pii.models import TenantKey
from closeloop.settings import Settings

__all__ = [
    "TenantCipher",
    "cipher_for",
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


# Ciphers of keys known to be committed. A key made in a transaction that is still
# open is kept in the session only: were that transaction rolled back, a cached key
# would go on encrypting data under a key no database row holds.
_cache: dict[tuple[bytes, uuid.UUID], TenantCipher] = {}
_UNCOMMITTED = "closeloop.uncommitted_tenant_keys"


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted_keys(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_UNCOMMITTED, None)


async def cipher_for(session: AsyncSession, settings: Settings) -> TenantCipher:
    """The bound tenant's cipher; its data key is made on first use."""
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("PII keys belong to a tenant; bind one first")
    master = load_master_key(settings)
    uncommitted: dict[uuid.UUID, TenantCipher] = session.info.setdefault(_UNCOMMITTED, {})
    cached = _cache.get((master, tenant_id)) or uncommitted.get(tenant_id)
    if cached is not None:
        return cached
    wrapper = AESGCM(master)
    row = await session.scalar(select(TenantKey).where(TenantKey.version == 1))
    made_here = row is None
    if row is None:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        row = TenantKey(
            tenant_id=tenant_id,
            id=new_id(),
            version=1,
            wrapped_key=nonce + wrapper.encrypt(nonce, data_key, tenant_id.bytes),
        )
        try:
            await add_in_savepoint(session, row)
        except IntegrityError:  # another request made it first (and committed it)
            made_here = False
            row = await session.scalar(select(TenantKey).where(TenantKey.version == 1))
            assert row is not None
    data_key = wrapper.decrypt(row.wrapped_key[:_NONCE], row.wrapped_key[_NONCE:], tenant_id.bytes)
    cipher = TenantCipher(tenant_id, data_key)
    if made_here:
        uncommitted[tenant_id] = cipher
    else:
        _cache[(master, tenant_id)] = cipher
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
