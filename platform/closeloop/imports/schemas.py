"""What the import API reads (a multipart form) and answers (a run with its detected
file format and its counts)."""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile

from closeloop.cases.attachments import clean_filename
from closeloop.errors import ApiError, UnprocessableEntity
from closeloop.imports.models import ImportRun

__all__ = [
    "FORM_FIELDS",
    "MAX_FILE_BYTES",
    "ImportForm",
    "ImportRunRead",
    "import_run_read",
    "read_import_form",
]


class ImportRunRead(msgspec.Struct, kw_only=True):
    """An import run: `queued` → `running` → `done` (or `failed`, with `failure`); an
    undone run is `undone`. `rows` = `created` + `updated` + `unchanged` + `errors`."""

    id: uuid.UUID
    file_name: str
    mapping: str
    dry_run: bool
    status: str
    format: str | None
    encoding: Annotated[
        str | None, msgspec.Meta(description="the file's encoding, as detected or given")
    ]
    encoding_source: Annotated[
        str | None,
        msgspec.Meta(description="how it was chosen: bom, utf-8, gb18030, detected, given"),
    ]
    delimiter: str | None
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: int
    failure: str | None
    actor: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class UnsupportedImportBody(ApiError, status=415, code="unsupported_media_type"): ...


@dataclasses.dataclass(frozen=True)
class ImportForm:
    """What `POST /api/v1/imports` was sent: the file and how to read it."""

    file_name: str
    data: bytes
    mapping: str | None
    mapping_toml: str | None
    dry_run: bool
    encoding: str | None
    delimiter: str | None
    sheet: str | None


FORM_FIELDS = ("mapping", "mapping_toml", "dry_run", "encoding", "delimiter", "sheet")
MAX_FILE_BYTES = 200 * 2**20  # an import file, as uploaded
_TRUE = ("true",)
_FALSE = ("false",)


async def read_import_form(request: Request[Any, Any, Any]) -> ImportForm:
    """The multipart form of an import: the part `file` and the text fields
    (`FORM_FIELDS`); 415 for another body, 422 for a missing or empty file."""
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise UnsupportedImportBody(
            "send multipart/form-data with the part `file` and a mapping", field="file"
        )
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise UnprocessableEntity("the form has no file part named `file`", field="file")
    data = await upload.read()
    if not data:
        raise UnprocessableEntity("the file is empty", field="file")
    text: dict[str, str | None] = {}
    for name in FORM_FIELDS:
        value = form.get(name)
        if not isinstance(value, str):
            text[name] = None
            continue
        # A delimiter may be white space (a tab); the other fields are trimmed.
        text[name] = (value if name == "delimiter" else value.strip()) or None
    dry_run = text["dry_run"] or "false"
    if dry_run not in (*_TRUE, *_FALSE):
        raise UnprocessableEntity("dry_run is true or false", field="dry_run")
    if text["encoding"] is not None:
        try:
            codecs.lookup(text["encoding"])
        except LookupError:
            raise UnprocessableEntity(
                f"unknown encoding {text['encoding']!r}", field="encoding"
            ) from None
    if text["delimiter"] is not None and len(text["delimiter"]) != 1:
        raise UnprocessableEntity("the delimiter is one character", field="delimiter")
    return ImportForm(
        file_name=clean_filename(upload.filename) or "upload",
        data=data,
        mapping=text["mapping"],
        mapping_toml=text["mapping_toml"],
        dry_run=dry_run in _TRUE,
        encoding=text["encoding"],
        delimiter=text["delimiter"],
        sheet=text["sheet"],
    )


def import_run_read(run: ImportRun) -> ImportRunRead:
    return ImportRunRead(
        id=run.id,
        file_name=run.file_name,
        mapping=run.mapping,
        dry_run=run.dry_run,
        status=run.status,
        format=run.format,
        encoding=run.encoding,
        encoding_source=run.encoding_source,
        delimiter=run.delimiter,
        rows=run.rows,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        errors=run.errors,
        failure=run.failure,
        actor=run.actor,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )
