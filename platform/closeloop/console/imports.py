"""The import page (`/console/imports`, admins): upload a CSV or XLSX file, see its first
rows with how it was read (encoding, delimiter, sheet: each can be overridden), map its
columns to case fields from a shipped or saved mapping, try it as a dry run, run it in
the background with a progress bar, read the per-row report, undo a run.

Every step calls the import services of the API (`ImportService`, and
`ImportUploadService` for the uploaded files and saved mappings); the file is stored
(`import_uploads`) before anything runs, and each run is the API's queued run written
by the `run_import` actor. The page holds no rule of its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from closeloop.cases.attachments import clean_filename
from closeloop.console.deps import ConsolePage, Page
from closeloop.console.imports_form import (
    DELIMITERS,
    ENCODINGS,
    clock_labels,
    delimiter_name,
    field_labels,
    read_edits,
    read_options,
    read_sla_keys,
    shown_first,
)
from closeloop.console.live import live_stamp, unchanged
from closeloop.console.pages import see_other, with_query
from closeloop.errors import ApiError, UnprocessableEntity
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.imports.deps import provide_import_service, provide_import_uploads
from closeloop.imports.editing import (
    KEEP,
    VALUE,
    compose_mapping,
    extra_views,
    field_views,
    sla_views,
)
from closeloop.imports.mapping import SHIPPED
from closeloop.imports.models import ImportRun
from closeloop.imports.schemas import MAX_FILE_BYTES
from closeloop.imports.service import ImportService
from closeloop.imports.template import practice_form_template
from closeloop.imports.uploads import ImportUploadService

__all__ = ["ImportPageController"]

ADMIN = access(Role.ADMIN)  # the roles of /api/v1/imports
HOME = "/console/imports"
SHOWN_ERRORS = 200  # row errors on the page; the CSV has them all
PROGRESS_SECONDS = 1
Imports = NamedDependency[ImportService]
Uploads = NamedDependency[ImportUploadService]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _progress(run: ImportRun) -> int:
    """Percent of the file's rows done (100 once the run is over)."""
    if run.status not in ("queued", "running"):
        return 100
    expected = int(run.options.get("expected_rows") or 0)
    return min(99, run.rows * 100 // expected) if expected else 0


def _upload_url(upload_id: uuid.UUID, values: dict[str, Any], *, mapping: str) -> str:
    """The upload's page with how it is read and the mapping chosen in its query."""
    query = {k: str(values.get(k) or "") for k in ("encoding", "delimiter", "sheet")}
    query["mapping"] = mapping
    return with_query(f"{HOME}/uploads/{upload_id}", list(query.items()))


def _other_sheet(described: dict[str, Any]) -> str | None:
    """The sheet shown when it is not the workbook's first (whose rows were counted at
    upload); None otherwise."""
    sheets = described.get("sheets") or []
    sheet = described.get("sheet")
    return sheet if sheet and sheets and sheet != sheets[0] else None


class ImportPageController(Controller):
    path = "/imports"
    opt = ADMIN
    dependencies = {
        "imports": Provide(provide_import_service, sync_to_thread=False),
        "uploads": Provide(provide_import_uploads, sync_to_thread=False),
    }

    async def _index(
        self,
        page: ConsolePage,
        imports: Imports,
        uploads: Uploads,
        *,
        problem: ApiError | None = None,
    ) -> Template:
        return page.render(
            "imports/index.html",
            status_code=problem.status_code if problem else 200,
            runs=await imports.list_runs(limit=50),
            saved=await uploads.saved_mappings(),
            shipped=SHIPPED,
            problem=problem,
        )

    @get("/")
    async def index(self, page: Page, imports: Imports, uploads: Uploads) -> Template:
        """The upload form, the saved mappings and the tenant's runs, newest first."""
        return await self._index(page, imports, uploads)

    @post("/", request_max_body_size=MAX_FILE_BYTES)
    async def upload(self, page: Page, imports: Imports, uploads: Uploads) -> Template | Redirect:
        """Store the file, then to its preview; a file that cannot be read is the upload
        page again with the problem (422), and nothing is kept."""
        form = await page.request.form()
        upload = form.get("file")
        mapping = form.get("mapping") if isinstance(form.get("mapping"), str) else ""
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise UnprocessableEntity("choose a CSV or XLSX file", field="file")
            stored = await uploads.store(
                file_name=clean_filename(upload.filename) or "upload",
                data=await upload.read(),
            )
        except ApiError as exc:
            return await self._index(page, imports, uploads, problem=exc)
        return see_other(_upload_url(stored.id, {}, mapping=str(mapping or "")))

    @get("/template.xlsx", media_type=XLSX)
    async def template(self) -> Response[bytes]:
        """The practice's record form as an XLSX template to fill in (mapping
        `practice_form`)."""
        return Response(
            practice_form_template(),
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="practice-form.xlsx"'},
        )

    async def _upload_page(
        self,
        page: ConsolePage,
        uploads: Uploads,
        upload_id: uuid.UUID,
        values: dict[str, Any],
        *,
        mapping_text: str | None = None,
        problem: ApiError | None = None,
    ) -> Template:
        upload = await uploads.get(upload_id)
        choice = str(values.get("mapping") or "") or (
            "shipped:practice_form" if upload.format == "xlsx" else "shipped:cfpb"
        )
        try:
            options = read_options(values)
            preview = await uploads.preview(upload, options)
            text = mapping_text or await uploads.mapping_text(choice)
        except UnprocessableEntity as exc:
            return page.render(
                "imports/problem.html",
                status_code=exc.status_code,
                problem=exc,
                back=f"{HOME}/uploads/{upload.id}",
            )
        used, others = shown_first(field_views(text))
        extra = extra_views(text)
        return page.render(
            "imports/upload.html",
            status_code=problem.status_code if problem else 200,
            upload=upload,
            counted=await uploads.rows_of(upload, _other_sheet(preview.described)),
            labels=field_labels(page.locale),
            clock_labels=clock_labels(page.locale),
            preview=preview,
            described=preview.described,
            options=options,
            delimiter=delimiter_name(options["delimiter"]),
            delimiters=DELIMITERS,
            encodings=ENCODINGS,
            choice=choice,
            shipped=SHIPPED,
            saved=await uploads.saved_mappings(),
            used=used,
            others=others,
            extra=extra,
            sla=sla_views(text),
            keep=KEEP,
            value=VALUE,
            mapping_name=str(values.get("name") or choice.partition(":")[2]),
            problem=problem,
        )

    @get("/uploads/{upload_id:uuid}")
    async def upload_page(
        self, page: Page, uploads: Uploads, upload_id: FromPath[uuid.UUID]
    ) -> Template:
        """The file's first rows and how it was read (`encoding`, `delimiter`, `sheet`
        override it), and the mapping form filled from `mapping` (`shipped:<name>` or
        `saved:<id>`)."""
        values = dict(page.request.query_params.items())
        return await self._upload_page(page, uploads, upload_id, values)

    @post("/uploads/{upload_id:uuid}")
    async def start(
        self, page: Page, uploads: Uploads, upload_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """The mapping form sent: `action` is `dry_run` or `run` (a queued run, then its
        page) or `save` (the mapping saved by `name` for this tenant). A mapping with
        mistakes is the form again with them (422), nothing run."""
        form = await page.request.form()
        values = {key: form.get(key) for key in form}
        upload = await uploads.get(upload_id)
        action = str(values.get("action") or "dry_run")
        text: str | None = None
        try:
            options = read_options(values)
            preview = await uploads.preview(upload, options)
            base = await uploads.mapping_text(str(values.get("mapping") or ""))
            edits, extra, kept = read_edits(values, preview.header)
            name = str(values.get("name") or "").strip() or "console"
            text = compose_mapping(
                base,
                name=name,
                edits=edits,
                extra_columns=extra,
                extra_keys=kept,
                sla_keys=read_sla_keys(values),
            )
            if action == "save":
                saved = await uploads.save_mapping(name, text)
                return see_other(_upload_url(upload.id, values, mapping=f"saved:{saved.id}"))
            run = await uploads.start(
                upload, mapping_text=text, dry_run=action != "run", options=options
            )
        except ApiError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            return await self._upload_page(
                page, uploads, upload_id, values, mapping_text=text, problem=exc
            )
        return see_other(f"{HOME}/runs/{run.id}")

    def _run_context(self, run: ImportRun, locale: str) -> dict[str, Any]:
        return {
            "run": run,
            "percent": _progress(run),
            "poll_seconds": PROGRESS_SECONDS,
            "shown_errors": SHOWN_ERRORS,
            "stamp": live_stamp(locale, run.status, run.rows, run.errors),
        }

    async def _run_page(
        self,
        page: ConsolePage,
        imports: Imports,
        run_id: uuid.UUID,
        problem: ApiError | None = None,
    ) -> Template:
        run = await imports.get(run_id)
        locale = page.locale
        return page.render(
            "imports/run.html",
            status_code=problem.status_code if problem else 200,
            errors=await imports.errors(run_id, limit=SHOWN_ERRORS),
            problem=problem,
            **self._run_context(run, locale),
        )

    @get("/runs/{run_id:uuid}")
    async def run_page(self, page: Page, imports: Imports, run_id: FromPath[uuid.UUID]) -> Template:
        """A run: progress while it goes, then its counts, its row errors and undo."""
        return await self._run_page(page, imports, run_id)

    @get("/runs/{run_id:uuid}/progress")
    async def progress(
        self, page: Page, imports: Imports, run_id: FromPath[uuid.UUID]
    ) -> Template | Response[bytes]:
        """The run's panel (polled while it runs; 204 while nothing moved)."""
        run = await imports.get(run_id)
        locale = page.locale
        context = self._run_context(run, locale)
        if (answer := unchanged(page.request, context["stamp"])) is not None:
            return answer
        return page.render(
            "imports/_run.html",
            errors=await imports.errors(run_id, limit=SHOWN_ERRORS),
            **context,
        )

    @get("/runs/{run_id:uuid}/errors.csv", media_type="text/csv")
    async def errors_csv(self, imports: Imports, run_id: FromPath[uuid.UUID]) -> Response[str]:
        """The run's row errors as CSV (row, column, field, value, reason)."""
        return Response(
            await imports.errors_csv(run_id),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{run_id}-errors.csv"'},
        )

    @post("/runs/{run_id:uuid}/undo")
    async def undo(
        self, page: Page, imports: Imports, run_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Remove exactly the run's cases; 409 with the reason once any changed."""
        try:
            await imports.undo(run_id)
        except ApiError as exc:
            if exc.status_code == 404:
                raise
            return await self._run_page(page, imports, run_id, exc)
        return see_other(f"{HOME}/runs/{run_id}")

    @post("/runs/{run_id:uuid}/confirm")
    async def confirm(
        self, page: Page, imports: Imports, uploads: Uploads, run_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Run for real what a finished dry run checked: same file, mapping, options."""
        try:
            run = await uploads.confirm(await imports.get(run_id))
        except ApiError as exc:
            if exc.status_code == 404:
                raise
            return await self._run_page(page, imports, run_id, exc)
        return see_other(f"{HOME}/runs/{run.id}")
