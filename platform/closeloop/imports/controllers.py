"""HTTP for imports (admins only): upload a file to import in the background, follow the
run, download its row errors as CSV, list the runs, undo one."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter

from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.imports.deps import provide_import_service
from closeloop.imports.schemas import ImportRunRead, ImportUpload, import_run_read
from closeloop.imports.service import ImportService, resolve_mapping

__all__ = ["ImportController"]

Imports = NamedDependency[ImportService]
_MAX_FILE = 200 * 2**20  # an import file, as uploaded


class ImportController(Controller):
    path = "/api/v1/imports"
    tags = ("imports",)
    opt = access(Role.ADMIN)
    dependencies = {"imports": Provide(provide_import_service)}

    @post("/", status_code=202, request_max_body_size=_MAX_FILE)
    async def create_import(
        self,
        imports: Imports,
        data: Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportRunRead:
        """Import a CSV or XLSX file with a mapping (`mapping`: a shipped one, cfpb,
        heimao or practice_form; or `mapping_toml`: a mapping file's text). Answers 202
        with the queued run; the rows are written in the background (follow it with
        `GET /api/v1/imports/{run_id}`). `dry_run` counts what would happen and writes no
        case. `encoding`, `delimiter` and `sheet` override what is detected."""
        mapping = resolve_mapping(data.mapping, data.mapping_toml)
        source = await data.file.read()
        run = await imports.create(
            file_name=data.file.filename or "upload",
            mapping=mapping,
            mapping_text=data.mapping_toml or None,
            source=source,
            dry_run=data.dry_run,
            options={"encoding": data.encoding, "delimiter": data.delimiter, "sheet": data.sheet},
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
        return [import_run_read(run) for run in await imports.list(limit=limit)]

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
