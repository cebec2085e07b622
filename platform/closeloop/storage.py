"""Where attachment bytes live: a small interface and the local-disk default.

Objects are content addressed (`<tenant>/<sha256[:2]>/<sha256>`): the same file
uploaded twice in one tenant is stored once, a key never names another tenant's
bytes, and a write is idempotent. Callers write the bytes *before* the database row
that names them commits, so a committed row always finds its file; a transaction that
rolls back leaves at most an unreferenced file behind, which is harmless (and the
same bytes are reused by the next upload of that file).

Another backend (S3, ...) implements `AttachmentStorage` with the same keys.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Protocol

from closeloop.settings import Settings

__all__ = ["AttachmentStorage", "LocalStorage", "StoredObject", "storage_from_settings"]

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f]{2}/[0-9a-f]{64}$")


class StoredObject:
    __slots__ = ("key", "sha256", "size")

    def __init__(self, key: str, sha256: bytes, size: int) -> None:
        self.key = key
        self.sha256 = sha256
        self.size = size


class AttachmentStorage(Protocol):
    async def put(self, tenant_id: uuid.UUID, data: bytes) -> StoredObject:
        """Store `data` for the tenant; returns its key, digest and size."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`; `FileNotFoundError` when there are none."""
        ...

    async def purge(self, tenant_id: uuid.UUID) -> None:
        """Remove every object of the tenant (its deletion); nothing stored is no error."""
        ...


def object_key(tenant_id: uuid.UUID, digest: str) -> str:
    return f"{tenant_id}/{digest[:2]}/{digest}"


class LocalStorage:
    """Files under `root` (`<CLOSELOOP_DATA_DIR>/attachments` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def put(self, tenant_id: uuid.UUID, data: bytes) -> StoredObject:
        digest = hashlib.sha256(data)
        key = object_key(tenant_id, digest.hexdigest())
        await asyncio.to_thread(self._write, key, data)
        return StoredObject(key=key, sha256=digest.digest(), size=len(data))

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def purge(self, tenant_id: uuid.UUID) -> None:
        folder = self.root / str(uuid.UUID(str(tenant_id)))  # a real id, never a path
        await asyncio.to_thread(shutil.rmtree, folder, True)


def storage_from_settings(settings: Settings) -> AttachmentStorage:
    return LocalStorage(Path(settings.data_dir) / "attachments")
