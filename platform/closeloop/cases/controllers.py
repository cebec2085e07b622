"""HTTP for cases: intake, listing and search, one case, edits, attachments."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import (
    FromPath,
    HeaderParameter,
    JSONBody,
    QueryParameter,
)
from litestar.response import Stream

from closeloop.cases.attachments import AttachmentService, read_upload
from closeloop.cases.deps import (
    provide_attachments,
    provide_case_export,
    provide_case_intake,
    provide_case_service,
    provide_record_sheet,
    provide_storage,
)
from closeloop.cases.editing import IF_MATCH, CaseService, parse_if_match
from closeloop.cases.export import EXPORT_ROLES, CaseExportService
from closeloop.cases.http_filters import provide_case_filters
from closeloop.cases.intake import IntakeService
from closeloop.cases.listing import (
    COUNT_CAP,
    MAX_LIMIT,
    ORDERS,
    CaseFilters,
    count_cases,
    list_cases,
)
from closeloop.cases.models import Attachment
from closeloop.cases.record_sheet import RecordSheetService
from closeloop.cases.schemas import AttachmentRead, CaseCreate, CasePage, CaseRead, CaseUpdate
from closeloop.cases.views import case_summaries
from closeloop.crud import read_as
from closeloop.exports.pdf import PDF_MEDIA_TYPE
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.providers import AppSettings
from closeloop.web.deps import Caller, DbSession

__all__ = ["AttachmentController", "CaseController", "provide_storage"]


INTAKE_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
EDIT_ROLES = (Role.AGENT, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)


def attachment_read(attachment: Attachment) -> AttachmentRead:
    return read_as(AttachmentRead, attachment, sha256=attachment.sha256.hex())


def _with_etag(body: CaseRead, status_code: int = 200, **headers: str) -> Response[CaseRead]:
    return Response(body, status_code=status_code, headers={"ETag": f'"{body.version}"', **headers})


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)
    opt = access(*ALL_ROLES)
    dependencies = {
        "filters": Provide(provide_case_filters),
        "case_service": Provide(provide_case_service, sync_to_thread=False),
        "intake": Provide(provide_case_intake, sync_to_thread=False),
        "exports": Provide(provide_case_export, sync_to_thread=False),
        "record_sheets": Provide(provide_record_sheet, sync_to_thread=False),
    }

    @post("/", status_code=201, opt=access(*INTAKE_ROLES))
    async def create_case(
        self,
        case_service: NamedDependency[CaseService],
        intake: NamedDependency[IntakeService],
        data: JSONBody[CaseCreate],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="the same request again by the same caller answers the case "
                "it made (200); the key with another body or caller is 422 "
                "`idempotency_key_reused`",
            ),
        ] = None,
    ) -> Response[CaseRead]:
        """Register a case (intake). 201 with the new case; the same request again with
        its `Idempotency-Key`, 200 with that case (`Idempotent-Replayed: true`)."""
        result = await intake.register(data, idempotency_key=idempotency_key)
        body = await case_service.read(result.case)
        headers = {"Location": f"/api/v1/cases/{body.id}"}
        if not result.created:
            return _with_etag(body, 200, **headers, **{"Idempotent-Replayed": "true"})
        return _with_etag(body, 201, **headers)

    @get("/")
    async def list_cases(
        self,
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        filters: NamedDependency[CaseFilters],
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of a page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
        count: Annotated[
            bool,
            QueryParameter(
                description=f"also answer `total`, the number of cases the filters match "
                f"(exact up to {COUNT_CAP}; past it `total` is {COUNT_CAP} and "
                "`total_capped` true)"
            ),
        ] = False,
        order: Annotated[
            str,
            QueryParameter(
                description="`received`: newest received first; `due`: next due first "
                "(no due time last)",
                pattern=f"^({'|'.join(ORDERS)})$",
            ),
        ] = "received",
    ) -> CasePage:
        """Cases, newest received first (or next due first), filtered; customer data
        masked as for one case."""
        cases, next_cursor = await list_cases(
            db_session, filters, limit=limit, cursor=cursor, order=order
        )
        items = await case_summaries(db_session, settings, principal, cases)
        if not count:
            return CasePage(items=items, next_cursor=next_cursor)
        total, capped = await count_cases(db_session, filters)
        return CasePage(items=items, next_cursor=next_cursor, total=total, total_capped=capped)

    @get("/export", opt=access(*EXPORT_ROLES))
    async def export_cases(
        self,
        exports: NamedDependency[CaseExportService],
        filters: NamedDependency[CaseFilters],
        format: Annotated[
            str, QueryParameter(description="csv or xlsx", pattern="^(csv|xlsx)$")
        ] = "csv",
        pii: Annotated[
            bool,
            QueryParameter(
                description="customer data in clear: needs the `pii` permission (403 "
                "`permission_required` without it); audited as `case.export_pii`"
            ),
        ] = False,
    ) -> Stream:
        """The filtered cases as CSV (UTF-8 with a byte-order mark) or Excel, streamed,
        every matching case (no cap). Customer data is masked unless the caller holds
        `pii` and asks for it with `pii=true`."""
        export = await exports.open(filters, fmt=format, pii=pii)
        return Stream(
            export.body,
            media_type=export.media_type,
            headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
        )

    @get("/{case_id:uuid}")
    async def get_case(
        self, case_service: NamedDependency[CaseService], case_id: FromPath[uuid.UUID]
    ) -> Response[CaseRead]:
        """One case; `ETag` is its version (send it back as `If-Match` to edit)."""
        case = await case_service.get(case_id)
        return _with_etag(await case_service.read(case))

    @get("/{case_id:uuid}/record.pdf", media_type=PDF_MEDIA_TYPE)
    async def record_sheet(
        self,
        record_sheets: NamedDependency[RecordSheetService],
        case_id: FromPath[uuid.UUID],
        pii: Annotated[
            bool,
            QueryParameter(
                description="private data in clear: needs the `pii` permission (403 "
                "`permission_required` without it); the customer read is audited"
            ),
        ] = False,
    ) -> Response[bytes]:
        """The case on the practice's complaint handling and follow-up record form, as a
        PDF in the tenant's language; private data masked unless a `pii` holder asks."""
        filename, body = await record_sheets.pdf(case_id, pii=pii)
        return Response(
            body,
            media_type=PDF_MEDIA_TYPE,
            headers={"Content-Disposition": _content_disposition(filename)},
        )

    @patch("/{case_id:uuid}", opt=access(*EDIT_ROLES))
    async def update_case(
        self,
        case_service: NamedDependency[CaseService],
        case_id: FromPath[uuid.UUID],
        data: JSONBody[CaseUpdate],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                description="the version read (ETag)",
                schema_extra={"pattern": IF_MATCH},
            ),
        ] = None,
    ) -> Response[CaseRead]:
        """Edit fields. 428 without `If-Match`, 409 `version_conflict` (with the current
        version) when the case changed since, 409 `case_archived` on an archived case."""
        await case_service.get(case_id)  # 404 before anything about the request itself
        case = await case_service.update(case_id, data, if_match=parse_if_match(if_match))
        return _with_etag(await case_service.read(case))


def _content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    quoted = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


class AttachmentController(Controller):
    path = "/api/v1/cases/{case_id:uuid}/attachments"
    tags = ("cases",)
    opt = access(*ALL_ROLES)
    dependencies = {
        "storage": Provide(provide_storage, sync_to_thread=False),
        "case_service": Provide(provide_case_service, sync_to_thread=False),
        "attachments": Provide(provide_attachments, sync_to_thread=False),
    }

    @post("/", status_code=201, request_max_body_size=None, opt=access(*EDIT_ROLES))
    async def upload_attachment(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        case_service: NamedDependency[CaseService],
        attachments: NamedDependency[AttachmentService],
        case_id: FromPath[uuid.UUID],
    ) -> AttachmentRead:
        """Add an evidence file: `multipart/form-data` with one part `file`. 413 past the
        size limit (`CLOSELOOP_ATTACHMENT_MAX_BYTES`, 10 MiB by default), 415 unless an
        image, PDF, plain text, audio or office document."""
        case = await case_service.get(case_id)
        upload = await read_upload(
            request.stream(),
            request.headers.get("content-type"),
            max_bytes=settings.attachment_max_bytes,
            content_length=request.content_length,
        )
        attachment = await attachments.add(case, upload)
        return attachment_read(attachment)

    @get("/")
    async def list_attachments(
        self,
        case_service: NamedDependency[CaseService],
        attachments: NamedDependency[AttachmentService],
        case_id: FromPath[uuid.UUID],
    ) -> list[AttachmentRead]:
        await case_service.get(case_id)
        return [attachment_read(a) for a in await attachments.list(case_id)]

    @get("/{attachment_id:uuid}")
    async def download_attachment(
        self,
        attachments: NamedDependency[AttachmentService],
        case_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The file itself, always as a download (`Content-Disposition: attachment`)."""
        attachment = await attachments.get(case_id, attachment_id)
        content = await attachments.content(attachment)
        return Response(
            content,
            media_type=attachment.content_type,
            headers={
                "Content-Disposition": _content_disposition(attachment.filename),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "ETag": f'"{attachment.sha256.hex()}"',
            },
        )
