"""What the import API answers: a run with its detected file format and its counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile

from closeloop.imports.models import ImportRun

__all__ = ["ImportRunRead", "ImportUpload", "import_run_read"]


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


@dataclasses.dataclass
class ImportUpload:
    """`multipart/form-data`: the file, and a shipped mapping's name or a mapping as TOML."""

    file: UploadFile
    mapping: str | None = None
    mapping_toml: str | None = None
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


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
