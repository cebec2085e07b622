"""HTTP for cases: intake, listing and search, one case, edits, attachments."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
import zoneinfo
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import (
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    QueryParameter,
    SkipValidation,
)

from closeloop.cases.attachments import AttachmentService, read_upload
from closeloop.cases.editing import CaseService, parse_if_match
from closeloop.cases.intake import IntakeService
from closeloop.cases.lifecycle import Status
from closeloop.cases.listing import MAX_LIMIT, CaseFilters, list_cases
from closeloop.cases.models import Attachment
from closeloop.cases.schemas import AttachmentRead, CaseCreate, CasePage, CaseRead, CaseUpdate
from closeloop.cases.views import case_read, case_summaries
from closeloop.config.models import CASE_KINDS
from closeloop.identity.models import Role
from closeloop.settings import Settings
from closeloop.storage import AttachmentStorage, storage_from_settings
from closeloop.tenancy.models import Tenant
from closeloop.web.deps import Caller, DbSession
from closeloop.web.errors import ApiError

__all__ = ["AttachmentController", "CaseController", "provide_storage"]

AppSettings = NamedDependency[Settings]
# A protocol: nothing to validate, and msgspec could not.
Storage = NamedDependency[SkipValidation[AttachmentStorage]]

INTAKE_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
EDIT_ROLES = (Role.AGENT, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)


def provide_storage(state: State) -> AttachmentStorage:
    """The app's attachment storage (`state.attachment_storage` if set, else local disk)."""
    storage: AttachmentStorage | None = state.get("attachment_storage")
    if storage is None:
        storage = storage_from_settings(state.settings)
        state.attachment_storage = storage
    return storage


def attachment_read(attachment: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        case_id=attachment.case_id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256.hex(),
        uploaded_by=attachment.uploaded_by,
        created_at=attachment.created_at,
    )


def _with_etag(body: CaseRead, status_code: int = 200, **headers: str) -> Response[CaseRead]:
    return Response(body, status_code=status_code, headers={"ETag": f'"{body.version}"', **headers})


def _bound(
    value: str | None, field: str, zone: zoneinfo.ZoneInfo, *, end: bool
) -> dt.datetime | None:
    """A `received_from`/`received_to` value: a date (the whole day, tenant time) or a time."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            return start + dt.timedelta(days=1) if end else start
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(
            f"{field} must be a date (2026-11-25) or a date and time (2026-11-25T08:30:00+08:00)",
            code="invalid_request",
            details={"field": field},
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _bad_filter(field: str, message: str) -> ApiError:
    return ApiError(message, code="invalid_request", details={"field": field})


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)

    @post("/", status_code=201)
    async def create_case(
        self,
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        data: JSONBody[CaseCreate],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="a retry with the same key answers the case it made (200)",
            ),
        ] = None,
    ) -> Response[CaseRead]:
        """Register a case (intake). 201 with the new case; with an `Idempotency-Key` that
        was used before, 200 with that case (`Idempotent-Replayed: true`)."""
        principal.require(*INTAKE_ROLES)
        result = await IntakeService(db_session, settings, principal).register(
            data, idempotency_key=idempotency_key
        )
        body = await case_read(db_session, settings, principal, result.case)
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
        status: Annotated[
            list[str] | None, QueryParameter(description="status; repeat or comma-separate")
        ] = None,
        kind: FromQuery[str | None] = None,
        severity: Annotated[str | None, QueryParameter(description="severity code")] = None,
        category: Annotated[str | None, QueryParameter(description="category id or code")] = None,
        assignee: Annotated[
            uuid.UUID | None, QueryParameter(description="handler's user id")
        ] = None,
        department: Annotated[
            uuid.UUID | None, QueryParameter(description="lead department id")
        ] = None,
        channel: Annotated[str | None, QueryParameter(description="channel code")] = None,
        breached: Annotated[
            bool | None, QueryParameter(description="due passed while not yet resolved")
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=500,
                description="words (any language) in number, title, description, customer nickname",
            ),
        ] = None,
        received_from: Annotated[
            str | None, QueryParameter(description="date or time, inclusive")
        ] = None,
        received_to: Annotated[
            str | None, QueryParameter(description="date (that whole day) or time, exclusive")
        ] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of a page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
    ) -> CasePage:
        """Cases, newest received first, filtered; customer data masked as for one case."""
        tenant = await db_session.get(Tenant, principal.tenant_id)
        zone = zoneinfo.ZoneInfo(tenant.timezone if tenant else "UTC")
        statuses = [s.strip() for value in status or [] for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - {s.value for s in Status})
        if unknown:
            raise _bad_filter("status", f"unknown status {unknown[0]!r}")
        if kind is not None and kind not in CASE_KINDS:
            raise _bad_filter("kind", f"kind must be one of {', '.join(CASE_KINDS)}")
        filters = CaseFilters(
            status=statuses,
            kind=kind,
            severity=severity,
            category=category,
            assignee=assignee,
            department=department,
            channel=channel,
            breached=breached,
            received_from=_bound(received_from, "received_from", zone, end=False),
            received_to=_bound(received_to, "received_to", zone, end=True),
            q=q,
        )
        cases, next_cursor = await list_cases(db_session, filters, limit=limit, cursor=cursor)
        items = await case_summaries(db_session, settings, principal, cases)
        return CasePage(items=items, next_cursor=next_cursor)

    @get("/{case_id:uuid}")
    async def get_case(
        self,
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        case_id: FromPath[uuid.UUID],
    ) -> Response[CaseRead]:
        """One case; `ETag` is its version (send it back as `If-Match` to edit)."""
        case = await CaseService(db_session, principal).get(case_id)
        return _with_etag(await case_read(db_session, settings, principal, case))

    @patch("/{case_id:uuid}")
    async def update_case(
        self,
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[CaseUpdate],
        if_match: Annotated[
            str | None, HeaderParameter(name="If-Match", description="the version read (ETag)")
        ] = None,
    ) -> Response[CaseRead]:
        """Edit fields. 428 without `If-Match`, 409 `version_conflict` (with the current
        version) when the case changed since, 409 `case_archived` on an archived case."""
        principal.require(*EDIT_ROLES)
        service = CaseService(db_session, principal)
        await service.get(case_id)  # 404 before anything about the request itself
        case = await service.update(case_id, data, if_match=parse_if_match(if_match))
        return _with_etag(await case_read(db_session, settings, principal, case))


def _content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    quoted = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


class AttachmentController(Controller):
    path = "/api/v1/cases/{case_id:uuid}/attachments"
    tags = ("cases",)
    dependencies = {"storage": Provide(provide_storage, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=201, request_max_body_size=None)
    async def upload_attachment(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        principal: Caller,
        settings: AppSettings,
        storage: Storage,
        case_id: FromPath[uuid.UUID],
    ) -> AttachmentRead:
        """Add an evidence file: `multipart/form-data` with one part `file`. 413 past the
        size limit (`CLOSELOOP_ATTACHMENT_MAX_BYTES`, 10 MiB by default), 415 unless an
        image, PDF, plain text, audio or office document."""
        principal.require(*EDIT_ROLES)
        case = await CaseService(db_session, principal).get(case_id)
        upload = await read_upload(
            request.stream(),
            request.headers.get("content-type"),
            max_bytes=settings.attachment_max_bytes,
            content_length=request.content_length,
        )
        attachment = await AttachmentService(db_session, storage, principal).add(case, upload)
        return attachment_read(attachment)

    @get("/")
    async def list_attachments(
        self,
        db_session: DbSession,
        principal: Caller,
        storage: Storage,
        case_id: FromPath[uuid.UUID],
    ) -> list[AttachmentRead]:
        await CaseService(db_session, principal).get(case_id)
        attachments = await AttachmentService(db_session, storage, principal).list(case_id)
        return [attachment_read(a) for a in attachments]

    @get("/{attachment_id:uuid}")
    async def download_attachment(
        self,
        db_session: DbSession,
        principal: Caller,
        storage: Storage,
        case_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The file itself, always as a download (`Content-Disposition: attachment`)."""
        service = AttachmentService(db_session, storage, principal)
        attachment = await service.get(case_id, attachment_id)
        content = await service.content(attachment)
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
