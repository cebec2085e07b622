"""HTTP for imports (admins only): upload a file to import in the background, follow the
run, download its row errors as CSV, list the runs, undo one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.imports.deps import provide_import_service
from closeloop.imports.schemas import (
    MAX_FILE_BYTES,
    ImportRunRead,
    import_run_read,
    read_import_form,
)
from closeloop.imports.service import ImportService, resolve_mapping

__all__ = ["ImportController"]

Imports = NamedDependency[ImportService]


class ImportController(Controller):
    path = "/api/v1/imports"
    tags = ("imports",)
    opt = access(Role.ADMIN)
    dependencies = {"imports": Provide(provide_import_service, sync_to_thread=False)}

    @post("/", status_code=202, request_max_body_size=MAX_FILE_BYTES)
    async def create_import(
        self, request: Request[Any, Any, Any], imports: Imports
    ) -> ImportRunRead:
        """Import a CSV or XLSX file: `multipart/form-data` with the part `file` and a
        mapping (`mapping`: a shipped one, cfpb, heimao or practice_form; or
        `mapping_toml`: a mapping file's text). Answers 202 with the queued run; the
        rows are written in the background (follow it with `GET
        /api/v1/imports/{run_id}`). `dry_run=true` counts what would happen and writes
        no case; `encoding`, `delimiter` and `sheet` override what is detected."""
        upload = await read_import_form(request)
        mapping = resolve_mapping(upload.mapping, upload.mapping_toml)
        run = await imports.create(
            file_name=upload.file_name,
            mapping=mapping,
            mapping_text=upload.mapping_toml,
            source=upload.data,
            dry_run=upload.dry_run,
            options={
                "encoding": upload.encoding,
                "delimiter": upload.delimiter,
                "sheet": upload.sheet,
            },
        )
        await imports.enqueue(run)
        return import_run_read(run)

    @get("/")
    async def list_imports(
        self,
        imports: Imports,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[ImportRunRead]:
        """The tenant's import runs, newest first."""
        return [import_run_read(run) for run in await imports.list_runs(limit=limit)]

    @get("/{run_id:uuid}")
    async def get_import(
        self,
        imports: Imports,
        run_id: FromPath[uuid.UUID],
    ) -> ImportRunRead:
        """One run: status, counts, the detected encoding and delimiter."""
        return import_run_read(await imports.get(run_id))

    @get("/{run_id:uuid}/errors.csv", media_type="text/csv")
    async def import_errors(
        self,
        imports: Imports,
        run_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The run's row errors as CSV: row, column, field, value, reason."""
        text = await imports.errors_csv(run_id)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{run_id}-errors.csv"'},
        )

    @post("/{run_id:uuid}/undo", status_code=200)
    async def undo_import(
        self,
        imports: Imports,
        run_id: FromPath[uuid.UUID],
    ) -> ImportRunRead:
        """Remove exactly the cases the run created. 409 once any of them changed after
        the import, or for a run that is not a finished real import."""
        return import_run_read(await imports.undo(run_id))
