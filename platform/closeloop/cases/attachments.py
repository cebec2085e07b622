"""Evidence files on a case: upload limits, type checks, storage, the attachment rows.

An upload is one `multipart/form-data` part named `file`. It is refused with 413
past `CLOSELOOP_ATTACHMENT_MAX_BYTES` (counted while reading, whatever the request
claims) and with 415 unless it is an image, PDF, plain text, audio or a common office
document, judged by its declared type (or its file name when the type is generic) and
checked against the first bytes for the types that have a signature, so a web page
cannot pass as a PNG. The bytes are stored (content addressed) before the row that
names them is written, in the request's transaction.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import re
import uuid
from collections.abc import AsyncIterator, Sequence

from multipart import (  # type: ignore[import-untyped]  # Litestar's multipart parser
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import Status
from closeloop.cases.models import Attachment, Case
from closeloop.cases.timeline import add_event
from closeloop.crud import CallerService
from closeloop.db import new_id
from closeloop.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.storage import AttachmentStorage

__all__ = [
    "ALLOWED_TYPES",
    "AttachmentService",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Upload",
    "read_upload",
]

ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/heif",
        "application/pdf",
        "text/plain",
        "text/csv",
        "audio/mpeg",
        "audio/mp4",
        "audio/x-m4a",
        "audio/aac",
        "audio/wav",
        "audio/x-wav",
        "audio/ogg",
        "audio/webm",
        "audio/amr",
        "audio/flac",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
_EXTENSIONS = {
    ".m4a": "audio/x-m4a",
    ".amr": "audio/amr",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".webp": "image/webp",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0",)
# Types with a fixed signature: the content must start with one of these.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/pdf": (b"%PDF-",),
    "application/msword": _OLE,
    "application/vnd.ms-excel": _OLE,
    "application/vnd.ms-powerpoint": _OLE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _ZIP,
    "application/vnd.oasis.opendocument.text": _ZIP,
    "application/vnd.oasis.opendocument.spreadsheet": _ZIP,
    "application/vnd.oasis.opendocument.presentation": _ZIP,
}
_FRAMING_ROOM = 64 * 1024  # multipart boundaries and part headers around the file
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PayloadTooLarge(ApiError, status=413, code="attachment_too_large"): ...


class UnsupportedMediaType(ApiError, status=415, code="unsupported_attachment_type"): ...


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _mebibytes(size: int) -> str:
    return f"{size / 1048576:.3g} MiB" if size >= 1048576 else f"{size} bytes"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"an attachment may have at most {_mebibytes(limit)}",
        field="file",
        details={"limit_bytes": limit},
    )


def clean_filename(name: str | None) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = _CONTROL.sub("", base).strip().strip(".") or "attachment"
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 16 else base[:255]
    return base


def _declared_type(declared: str | None, filename: str) -> str:
    content_type = (declared or "").split(";")[0].strip().lower()
    if content_type in _GENERIC:
        suffix = ("." + filename.rpartition(".")[2].lower()) if "." in filename else ""
        content_type = _EXTENSIONS.get(suffix) or mimetypes.guess_type(filename)[0] or ""
    return content_type


def check_type(upload: Upload) -> str:
    """The upload's content type if allowed and plausible; else 415."""
    content_type = _declared_type(upload.content_type, upload.filename)
    if content_type not in ALLOWED_TYPES:
        raise UnsupportedMediaType(
            f"attachments may be images, PDF, plain text, audio or office documents, "
            f"not {content_type or 'an unknown type'!r}",
            field="file",
            details={
                "content_type": content_type,
                "allowed": sorted(ALLOWED_TYPES),
            },
        )
    head = upload.data[:4096]
    signatures = _SIGNATURES.get(content_type)
    plausible = True
    if signatures is not None:
        plausible = head.startswith(signatures)
    elif content_type == "image/webp":
        plausible = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    elif content_type.startswith("text/"):
        plausible = b"\x00" not in head
    if not plausible:
        raise UnsupportedMediaType(
            f"the file's content is not {content_type}",
            field="file",
            details={"content_type": content_type},
        )
    return content_type


async def read_upload(
    stream: AsyncIterator[bytes],
    content_type_header: str | None,
    *,
    max_bytes: int,
    content_length: int | None = None,
) -> Upload:
    """The single file part `file` of a multipart body, read with a size cap.

    A body announced or found to be larger than the file limit plus room for the
    multipart framing is refused before (or as soon as) it gets there.
    """
    body_limit = max_bytes + _FRAMING_ROOM
    if content_length is not None and content_length > body_limit:
        raise too_large(max_bytes)
    media, _, options = (content_type_header or "").partition(";")
    boundary = None
    for option in options.split(";"):
        key, _, value = option.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if media.strip().lower() != "multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "upload the file as multipart/form-data with one part named `file`",
            field="file",
        )
    found: Upload | None = None
    segment: MultipartSegment | None = None
    data = bytearray()
    received = 0
    try:
        with PushMultipartParser(boundary.encode(), max_segment_count=8) as parser:
            async for chunk in stream:
                received += len(chunk)
                if received > body_limit:
                    raise too_large(max_bytes)
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        if event.name != "file":
                            raise UnprocessableEntity(
                                f"send one part, named `file`; not {event.name!r}",
                                field=event.name,
                            )
                        segment, data = event, bytearray()
                    elif event:
                        data.extend(event)
                        if len(data) > max_bytes:
                            raise too_large(max_bytes)
                    elif segment is not None:
                        if found is not None:
                            raise UnprocessableEntity("send one file per request", field="file")
                        found = Upload(
                            filename=clean_filename(segment.filename),
                            content_type=segment.content_type or "",
                            data=bytes(data),
                        )
                        segment = None
                if parser.closed:
                    break
    except (ParserError, ParserLimitReached):
        raise ApiError(
            "the multipart body is malformed", code="invalid_multipart", field="file"
        ) from None
    if found is None:
        raise UnprocessableEntity("the multipart body has no part named `file`", field="file")
    if not found.data:
        raise UnprocessableEntity("the file is empty", field="file")
    return found


class AttachmentService(CallerService):
    """A case's evidence files as the caller: stored, listed, read; adding is audited."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        principal: Principal,
        settings: Settings,
        storage: AttachmentStorage,
    ) -> None:
        super().__init__(session, principal=principal, settings=settings)
        self.storage = storage

    async def add(self, case: Case, upload: Upload) -> Attachment:
        if case.status == Status.ARCHIVED:
            raise Conflict(
                "the case is archived: its record is frozen",
                code="case_archived",
                details={"status": case.status},
            )
        content_type = check_type(upload)
        stored = await self.storage.put(case.tenant_id, upload.data)
        attachment = Attachment(
            tenant_id=case.tenant_id,
            id=new_id(),
            case_id=case.id,
            filename=upload.filename,
            content_type=content_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
            uploaded_by=self.actor,
        )
        self.session.add(attachment)
        await self.session.flush()
        await add_event(
            self.session,
            case,
            type="attachment_added",
            actor=self.actor,
            from_status=case.status,
            to_status=case.status,
            data={"attachment_id": attachment.id, "filename": attachment.filename},
        )
        await self.record(
            "attachment.create",
            "attachment",
            attachment.id,
            after={
                "case_id": case.id,
                "filename": attachment.filename,
                "content_type": content_type,
                "size": stored.size,
                "sha256": stored.sha256.hex(),
            },
        )
        return attachment

    async def list(self, case_id: uuid.UUID) -> Sequence[Attachment]:
        query = (
            select(Attachment)
            .where(Attachment.case_id == case_id)
            .order_by(Attachment.created_at, Attachment.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, case_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
        attachment = await self.session.scalar(
            select(Attachment).where(Attachment.case_id == case_id, Attachment.id == attachment_id)
        )
        if attachment is None:
            raise NotFound("no such attachment")
        return attachment

    async def content(self, attachment: Attachment) -> bytes:
        try:
            return await self.storage.get(attachment.storage_key)
        except FileNotFoundError:
            raise NotFound(
                "the attachment's file is missing from storage", code="attachment_missing"
            ) from None
