"""The console's side of imports, for the session's bound tenant: uploaded files kept
before any run (`import_uploads`), their preview, mappings saved by name
(`import_mappings`), and runs started from an upload through `ImportService` (the same
queued run and `run_import` actor as `POST /api/v1/imports`).

An upload is kept `CLOSELOOP_IMPORT_UPLOAD_DAYS` days after it was stored or after the
last run started from it (so a dry run can be run for real as long), until
`expires_at`; from then on it is not found, and the upload sweep
(`closeloop.imports.actors.delete_expired_uploads`) deletes it with `delete_expired`."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from importlib import resources

from sqlalchemy import delete, select
from sqlalchemy.orm import undefer

from closeloop.crud import Service
from closeloop.db import new_id, utcnow
from closeloop.errors import Conflict, NotFound, UnprocessableEntity
from closeloop.imports.mapping import SHIPPED, MappingError, parse_mapping
from closeloop.imports.models import ImportMapping, ImportRun, ImportUpload
from closeloop.imports.preview import (
    Preview,
    RowCount,
    as_format,
    count_rows,
    format_of,
    preview_file,
)
from closeloop.imports.reading import ReadError, open_table
from closeloop.imports.service import ImportService

__all__ = ["KEEP_DAYS", "SWEEP_ACTOR", "ImportUploadService", "ReadOptions", "shipped_text"]

KEEP_DAYS = 7  # CLOSELOOP_IMPORT_UPLOAD_DAYS when no settings are given
SWEEP_ACTOR = "system:imports"  # who the audit trail names for a deleted upload

ReadOptions = dict[str, str | None]  # encoding, delimiter, sheet: None is detected
_UNREADABLE = (ReadError, UnicodeError, LookupError)


def shipped_text(name: str) -> str:
    """The TOML of a shipped mapping."""
    resource = resources.files("closeloop.imports") / "mappings" / f"{name}.toml"
    return resource.read_text(encoding="utf-8")


def _unreadable(exc: Exception, field: str = "file") -> UnprocessableEntity:
    if isinstance(exc, LookupError) and not isinstance(exc, UnicodeError):
        return UnprocessableEntity(f"unknown encoding: {exc}", field="encoding")
    return UnprocessableEntity(f"the file cannot be read: {exc}", field=field)


class ImportUploadService(Service):
    # ---- uploads ----------------------------------------------------------------------

    def kept_for(self) -> dt.timedelta:
        """How long an upload is kept after its upload or its last run."""
        return dt.timedelta(days=self.settings.import_upload_days if self.settings else KEEP_DAYS)

    async def store(self, *, file_name: str, data: bytes) -> ImportUpload:
        """Keep an uploaded file; 422 naming the problem when it is empty, not CSV or
        XLSX, or cannot be read at all (then nothing is kept)."""
        if not data:
            raise UnprocessableEntity("the file is empty", field="file")
        try:
            kind = format_of(file_name)
            counted = await asyncio.to_thread(count_rows, data, format=kind)
        except _UNREADABLE as exc:
            raise _unreadable(exc) from None
        upload = ImportUpload(
            id=new_id(),
            tenant_id=self.tenant(),
            file_name=file_name[:255],
            format=kind,
            size=len(data),
            rows=counted.rows,
            rows_exact=counted.exact,
            actor=self.actor,
            expires_at=utcnow() + self.kept_for(),
            data=data,
        )
        self.session.add(upload)
        await self.session.flush()
        return upload

    async def get(self, upload_id: uuid.UUID) -> ImportUpload:
        """The upload, while it is kept; 404 once it expired, as for an unknown one."""
        upload = await self.session.scalar(
            select(ImportUpload)
            .where(ImportUpload.id == upload_id, ImportUpload.expires_at > utcnow())
            .options(undefer(ImportUpload.data))
        )
        if upload is None:
            raise NotFound("no such uploaded file")
        return upload

    async def rows_of(self, upload: ImportUpload, sheet: str | None) -> RowCount:
        """The upload's data rows: those counted when it was stored (its first sheet)
        when `sheet` is None, else those of that other sheet, counted now (cheap, see
        `count_rows`); 422 when that sheet cannot be read."""
        if upload.format != "xlsx" or not sheet:
            return RowCount(upload.rows, upload.rows_exact)
        try:
            return await asyncio.to_thread(count_rows, upload.data, format="xlsx", sheet=sheet)
        except _UNREADABLE as exc:
            raise _unreadable(exc, field="sheet") from None

    async def delete_expired(self, now: dt.datetime) -> int:
        """Delete the tenant's uploads whose time ran out by `now`, each audited as
        `import.upload_delete` (what the file was, not its bytes); how many."""
        gone = (
            await self.session.execute(
                delete(ImportUpload)
                .where(ImportUpload.expires_at <= now)
                .returning(
                    ImportUpload.id,
                    ImportUpload.file_name,
                    ImportUpload.size,
                    ImportUpload.rows,
                    ImportUpload.actor,
                    ImportUpload.created_at,
                    ImportUpload.expires_at,
                )
            )
        ).all()
        for row in gone:
            await self.record(
                "import.upload_delete",
                "import_upload",
                row.id,
                before={
                    "file_name": row.file_name,
                    "size": row.size,
                    "rows": row.rows,
                    "uploaded_by": row.actor,
                    "uploaded_at": row.created_at.isoformat(),
                    "expired_at": row.expires_at.isoformat(),
                },
            )
        return len(gone)

    async def preview(self, upload: ImportUpload, options: ReadOptions) -> Preview:
        """The upload's first rows read with `options` (what is None is detected)."""
        try:
            return await asyncio.to_thread(
                preview_file,
                upload.data,
                format=upload.format,
                encoding=options.get("encoding"),
                delimiter=options.get("delimiter"),
                sheet=options.get("sheet"),
            )
        except _UNREADABLE as exc:
            raise _unreadable(exc, field="sheet" if options.get("sheet") else "file") from None

    # ---- saved mappings ---------------------------------------------------------------

    async def saved_mappings(self) -> list[ImportMapping]:
        query = select(ImportMapping).order_by(ImportMapping.name)
        return list((await self.session.scalars(query)).all())

    async def mapping_text(self, choice: str) -> str:
        """The TOML of `shipped:<name>` or `saved:<id>`; 422 for anything else, 404 for
        another tenant's mapping."""
        kind, _, name = choice.partition(":")
        if kind == "shipped" and name in SHIPPED:
            return shipped_text(name)
        if kind == "saved":
            try:
                mapping_id = uuid.UUID(name)
            except ValueError:
                raise NotFound("no such saved mapping") from None
            found = await self.session.scalar(
                select(ImportMapping).where(ImportMapping.id == mapping_id)
            )
            if found is None:
                raise NotFound("no such saved mapping")
            return found.text
        raise UnprocessableEntity(f"unknown mapping {choice!r}", field="mapping")

    async def save_mapping(self, name: str, text: str) -> ImportMapping:
        """Save (or replace) the tenant's mapping `name`; 422 when it has mistakes."""
        name = name.strip()
        if not name or len(name) > 100:
            raise UnprocessableEntity("a mapping's name has 1 to 100 characters", field="name")
        try:
            parse_mapping(text, source=f"{name}.toml")
        except MappingError as exc:
            raise UnprocessableEntity(str(exc), field="mapping") from exc
        found = await self.session.scalar(
            select(ImportMapping).where(ImportMapping.name == name).with_for_update()
        )
        now = utcnow()
        if found is None:
            found = ImportMapping(
                id=new_id(), tenant_id=self.tenant(), name=name, text=text, actor=self.actor
            )
            self.session.add(found)
        found.text, found.actor, found.updated_at = text, self.actor, now
        await self.session.flush()
        await self.record(
            "import.mapping_save",
            "import_mapping",
            found.id,
            after={"name": name},
        )
        return found

    # ---- runs -------------------------------------------------------------------------

    async def start(
        self, upload: ImportUpload, *, mapping_text: str, dry_run: bool, options: ReadOptions
    ) -> ImportRun:
        """A queued run of `upload` (the file's bytes copied into the run, as the API
        does) with the mapping `mapping_text`; 422 when the mapping has mistakes or
        reads columns the file does not have."""
        try:
            mapping = parse_mapping(mapping_text, source="mapping.toml")
        except MappingError as exc:
            raise UnprocessableEntity(str(exc), field="mapping") from exc
        try:
            header, first_sheet = await asyncio.to_thread(_header, upload, options)
        except _UNREADABLE as exc:
            raise _unreadable(exc) from None
        if problems := mapping.check_header(header):
            raise UnprocessableEntity(str(MappingError("mapping", problems)), field="mapping")
        sheet = options.get("sheet")
        expected = await self.rows_of(upload, None if sheet == first_sheet else sheet)
        imports = ImportService(self.session, actor=self.actor, settings=self.settings)
        run = await imports.create(
            file_name=upload.file_name,
            mapping=mapping,
            mapping_text=mapping_text,
            source=upload.data,
            dry_run=dry_run,
            options={**options, "upload": str(upload.id), "expected_rows": expected.rows},
        )
        # Kept as long again from this run, so that a dry run can be run for real.
        upload.expires_at = max(upload.expires_at, utcnow() + self.kept_for())
        await imports.enqueue(run)
        return run

    async def confirm(self, run: ImportRun) -> ImportRun:
        """The real run of a finished dry run: same file, mapping and options; 409 once
        its uploaded file is no longer kept."""
        if not run.dry_run or run.status != "done":
            raise Conflict("only a finished dry run can be run for real")
        upload_id = run.options.get("upload")
        if not upload_id or not run.mapping_text:
            raise Conflict("this dry run was not started from an uploaded file in the console")
        try:
            upload = await self.get(uuid.UUID(str(upload_id)))
        except NotFound:
            days = self.kept_for().days
            raise Conflict(
                f"the file of this dry run is no longer kept (uploads are kept {days} days "
                "after their last run): upload it again"
            ) from None
        options = {k: run.options.get(k) for k in ("encoding", "delimiter", "sheet")}
        return await self.start(
            upload, mapping_text=run.mapping_text or "", dry_run=False, options=options
        )


def _header(upload: ImportUpload, options: ReadOptions) -> tuple[list[str], str | None]:
    """The header of the file read with `options`, and its first sheet (XLSX)."""
    with open_table(
        upload.data,
        format=as_format(upload.format),
        encoding=options.get("encoding"),
        delimiter=options.get("delimiter"),
        sheet=options.get("sheet"),
    ) as table:
        return list(table.header), next(iter(table.sheets), None)
