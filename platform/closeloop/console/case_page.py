"""The case page (`/console/cases/{id}`): header, clocks, details edited in place, the
timeline, the actions this user may take now, attachments, and a print view.

Every change goes through the service its API twin uses: details through
`CaseService.update` with the version read (`PATCH /api/v1/cases/{id}` with
`If-Match`), actions through `decode_body` and `CaseActionService.apply`
(`POST /api/v1/cases/{id}/actions/{action}`), the customer's contact details through
`CustomerService.view` (unmasked and audited for `pii` only). A refused change rolls
back to before it started and the page shows why, naming the field; nothing is kept.
"""

from __future__ import annotations

import dataclasses
import uuid

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.actions import CaseActionService
from closeloop.cases.attachments import AttachmentService
from closeloop.cases.controllers import EDIT_ROLES, _content_disposition
from closeloop.cases.deps import (
    provide_attachments,
    provide_case_actions,
    provide_case_service,
    provide_record_sheet,
    provide_storage,
)
from closeloop.cases.editing import CaseService, parse_if_match
from closeloop.cases.lifecycle import Action
from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.record_sheet import RecordSheetService
from closeloop.console import case_labels as L
from closeloop.console.case_forms import (
    EDIT_FIELDS,
    PRODUCT_FIELDS,
    action_body,
    case_update,
    posted_values,
)
from closeloop.console.case_view import (
    PREVIEWABLE,
    case_stamp,
    load_case_view,
    reveal_customer,
)
from closeloop.console.deps import ConsolePage, Page
from closeloop.console.i18n import N_, gettext
from closeloop.console.pages import SECURITY_HEADERS, see_other
from closeloop.console.register import FORM_BODY_LIMIT, MAX_FILES
from closeloop.console.register_form import read_uploads
from closeloop.errors import ApiError, NotFound, UnprocessableEntity
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Permission

__all__ = ["ACTING_VIEWER", "CasePageController"]

# Answered on the page next to the form; 403 and 404 are the console's error pages.
_SHOWN_ON_PAGE = (400, 409, 422, 428)
_VERSIONED = (*L.ACTION_LABELS, "edited")


@dataclasses.dataclass
class Problem:
    """Why a change was refused, shown by its form: the form, the message, and for a
    stale edit what changed meanwhile."""

    form: str
    message: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    meanwhile: list[str] = dataclasses.field(default_factory=list)
    differing: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)


def _case_url(case_id: uuid.UUID, anchor: str = "") -> str:
    return f"/console/cases/{case_id}" + (f"#{anchor}" if anchor else "")


def _values(case: Case) -> dict[str, str]:
    """The details form's fields as the case holds them now."""
    values = {
        "title": case.title,
        "description": case.description,
        "category_id": str(case.category_id or ""),
        "severity_id": str(case.severity_id or ""),
        "problem_place": case.problem_place or "",
    }
    for key in PRODUCT_FIELDS:
        values[f"product.{key}"] = str((case.product or {}).get(key) or "")
    return values


@dataclasses.dataclass(frozen=True, slots=True)
class Screen(ConsolePage):
    """What every handler of the case page works with: the console page, and the case
    and attachment services as the API's providers build them for the viewer."""

    cases: CaseService
    attachments: AttachmentService

    async def page(
        self,
        case_id: uuid.UUID,
        *,
        template: str = "case/page.html",
        status_code: int = 200,
        problem: Problem | None = None,
        editing: bool = False,
        revealed: bool = False,
    ) -> Template:
        viewer = self.viewer
        view = await load_case_view(
            self.db_session,
            self.settings,
            viewer,
            case_id,
            self.locale,
            cases=self.cases,
            attachments=self.attachments,
        )
        if revealed:
            view.customer = await reveal_customer(
                self.db_session, self.settings, viewer.principal, case_id
            )
        values = _values(view.case)
        if problem is not None and problem.form == "details":
            values.update(problem.values)
            editing = True
        return self.render(
            template,
            status_code=status_code,
            view=view,
            case=view.case,
            values=values,
            editing=editing,
            problem=problem,
            may_edit=view.case.status != "archived" and viewer.principal.has_role(*EDIT_ROLES),
            may_reveal=viewer.principal.may_see_pii,
            labels=L,
        )


async def provide_screen(
    page: Page,
    cases: NamedDependency[CaseService],
    attachments: NamedDependency[AttachmentService],
) -> Screen:
    return Screen(
        page.request, page.db_session, page.viewer, page.settings, page.locale, cases, attachments
    )


CaseScreen = NamedDependency[Screen]


async def _meanwhile(
    db_session: AsyncSession, case_id: uuid.UUID, since: int, now: int, locale: str
) -> list[str]:
    """The changes since version `since`: each lifecycle action and edit made one version."""
    if now <= since:
        return []
    events = (
        await db_session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.type.in_(_VERSIONED))
            .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
            .limit(now - since)
        )
    ).all()
    return [L.label(locale, L.EVENT_LABELS, e.type) for e in reversed(events)]


async def _conflict(screen: Screen, case_id: uuid.UUID, version: int, problem: Problem) -> Problem:
    """A stale edit: what changed since `version`, and where the form and the case differ."""
    locale = screen.locale
    case = await screen.cases.get(case_id)
    problem.message = gettext(
        locale,
        N_(
            "Someone changed this case while you were editing (version %(yours)s, now "
            "%(now)s). Nothing was saved. Compare, then save again to keep your text."
        ),
        yours=version,
        now=case.version,
    )
    problem.meanwhile = await _meanwhile(screen.db_session, case_id, version, case.version, locale)
    now = _values(case)
    problem.differing = [
        (L.label(locale, L.FIELD_LABELS, key), problem.values.get(key, ""), now[key])
        for key in EDIT_FIELDS
        if problem.values.get(key, "") != now[key]
    ]
    problem.values["version"] = str(case.version)
    return problem


# The action service as the API's provider builds it for the caller (the signed-in
# viewer); the case page and the follow-up workbench both take actions.
ACTING_VIEWER = {"actions": Provide(provide_case_actions, sync_to_thread=False)}


class CasePageController(Controller):
    path = "/cases"
    dependencies = {
        **ACTING_VIEWER,
        "storage": Provide(provide_storage, sync_to_thread=False),
        "cases": Provide(provide_case_service, sync_to_thread=False),
        "attachments": Provide(provide_attachments, sync_to_thread=False),
        "screen": Provide(provide_screen),
        "record_sheets": Provide(provide_record_sheet, sync_to_thread=False),
    }

    @get("/{case_id:uuid}", opt=access(*ALL_ROLES))
    async def case_page(
        self, screen: CaseScreen, case_id: FromPath[uuid.UUID], edit: FromQuery[bool] = False
    ) -> Template:
        """The case; `?edit=true` opens the details form in place (without script)."""
        return await screen.page(case_id, editing=edit)

    @get("/{case_id:uuid}/live", opt=access(*ALL_ROLES))
    async def live(
        self, screen: CaseScreen, case_id: FromPath[uuid.UUID], stamp: FromQuery[str] = ""
    ) -> Response[bytes] | Template:
        """Polled by the open page: 204 while the case is as shown, else a notice to
        reload and the status line as it is now (the rest of the page is left alone: a
        form being filled in stays)."""
        await screen.cases.get(case_id)
        if await case_stamp(screen.db_session, case_id) == stamp:
            return Response(b"", status_code=204, headers={**SECURITY_HEADERS})
        return await screen.page(case_id, template="case/_changed.html")

    @get("/{case_id:uuid}/details", opt=access(*EDIT_ROLES))
    async def details_form(self, screen: CaseScreen, case_id: FromPath[uuid.UUID]) -> Template:
        """The details card as a form (htmx swaps it in place of the card)."""
        return await screen.page(case_id, template="case/_details.html", editing=True)

    @post("/{case_id:uuid}/details", opt=access(*EDIT_ROLES), status_code=303)
    async def edit_details(
        self, screen: CaseScreen, case_id: FromPath[uuid.UUID]
    ) -> Redirect | Template:
        """Save the details against the version the form was read at (`If-Match`)."""
        form = await screen.request.form()
        service = screen.cases
        await service.get(case_id)  # 404 before anything about the form
        version = 0
        try:
            async with screen.db_session.begin_nested():
                version = parse_if_match(form.get("version"))
                await service.update(case_id, case_update(form), if_match=version)
        except ApiError as exc:
            if exc.status_code not in _SHOWN_ON_PAGE:
                raise
            problem = Problem("details", exc.message, values=posted_values(form))
            if exc.code == "version_conflict":
                problem = await _conflict(screen, case_id, version, problem)
            return await screen.page(case_id, status_code=exc.status_code, problem=problem)
        return see_other(_case_url(case_id, "details"))

    @post("/{case_id:uuid}/actions/{action:str}", opt=access(*ALL_ROLES), status_code=303)
    async def take_action(
        self,
        screen: CaseScreen,
        actions: NamedDependency[CaseActionService],
        case_id: FromPath[uuid.UUID],
        action: FromPath[str],
    ) -> Redirect | Template:
        """One lifecycle action, by the API's rules; back to the case page."""
        try:
            chosen = Action(action)
        except ValueError:
            raise NotFound(f"no action {action!r}", code="unknown_action") from None
        form = await screen.request.form()
        await screen.cases.get(case_id)  # 404 first
        try:
            async with screen.db_session.begin_nested():
                body = decode_body(chosen, action_body(form, screen.viewer.tenant_timezone))
                await actions.apply(case_id, chosen, body)
        except ApiError as exc:
            # The case was found above: a 404 now is about the form (a case to merge into).
            if exc.status_code not in (*_SHOWN_ON_PAGE, 404):
                raise
            problem = Problem(chosen.value, exc.message, values=posted_values(form))
            return await screen.page(case_id, status_code=exc.status_code, problem=problem)
        return see_other(_case_url(case_id, "timeline"))

    @post(
        "/{case_id:uuid}/customer",
        opt=access(*ALL_ROLES, permissions=(Permission.PII,)),
        status_code=200,
    )
    async def reveal(self, screen: CaseScreen, case_id: FromPath[uuid.UUID]) -> Template:
        """The customer's contact details in full, for a viewer with `pii`; the read is
        audited (`customer.pii_read`). htmx swaps the customer block; without script,
        the whole page."""
        if not screen.request.headers.get("hx-request"):
            return await screen.page(case_id, revealed=True)
        customer = await reveal_customer(
            screen.db_session, screen.settings, screen.viewer.principal, case_id
        )
        return screen.render(
            "case/_customer.html", customer=customer, case_id=case_id, may_reveal=False
        )

    @post(
        "/{case_id:uuid}/attachments",
        opt=access(*EDIT_ROLES),
        status_code=303,
        request_max_body_size=FORM_BODY_LIMIT,
    )
    async def upload(self, screen: CaseScreen, case_id: FromPath[uuid.UUID]) -> Redirect | Template:
        """Add evidence files to the case through the attachment service (the API's
        size and type checks); all or none are stored. Back to the attachments."""
        case = await screen.cases.get(case_id)  # 404 before anything about the form
        form = await screen.request.form()
        files = form.getall("files", [])[: MAX_FILES + 1]
        try:
            if len(files) > MAX_FILES:
                raise UnprocessableEntity(f"at most {MAX_FILES} files", field="files")
            uploads = await read_uploads(files, max_bytes=screen.settings.attachment_max_bytes)
            if not uploads:
                raise UnprocessableEntity("choose a file to attach", field="files")
            async with screen.db_session.begin_nested():
                for item in uploads:
                    await screen.attachments.add(case, item)
        except ApiError as exc:
            if exc.status_code not in (*_SHOWN_ON_PAGE, 413, 415):
                raise
            problem = Problem("attachments", exc.message)
            return await screen.page(case_id, status_code=exc.status_code, problem=problem)
        return see_other(_case_url(case_id, "attachments"))

    @get("/{case_id:uuid}/attachments/{attachment_id:uuid}", opt=access(*ALL_ROLES))
    async def attachment(
        self,
        screen: CaseScreen,
        case_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
        download: FromQuery[bool] = False,
    ) -> Response[bytes]:
        """An attachment through the attachment service: images and PDF shown in the
        page (framed by the console only), anything else, or `?download=true`, saved."""
        await screen.cases.get(case_id)
        service = screen.attachments
        found = await service.get(case_id, attachment_id)
        content = await service.content(found)
        inline = not download and found.content_type in PREVIEWABLE
        disposition = _content_disposition(found.filename)
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": disposition.replace("attachment", "inline", 1)
            if inline
            else disposition,
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'"
            if inline
            else "default-src 'none'; sandbox",
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "same-origin",
        }
        return Response(content, media_type=found.content_type, headers=headers)

    @get("/{case_id:uuid}/print", opt=access(*ALL_ROLES))
    async def print_view(self, screen: CaseScreen, case_id: FromPath[uuid.UUID]) -> Template:
        """The case laid out like the practice's complaint record form, for printing."""
        return await screen.page(case_id, template="case/print.html")

    @get("/{case_id:uuid}/record.pdf", opt=access(*ALL_ROLES))
    async def record_sheet(
        self,
        record_sheets: NamedDependency[RecordSheetService],
        case_id: FromPath[uuid.UUID],
        pii: FromQuery[bool] = False,
    ) -> Response[bytes]:
        """`GET /api/v1/cases/{id}/record.pdf` for the signed-in user."""
        filename, body = await record_sheets.pdf(case_id, pii=pii)
        headers = {**SECURITY_HEADERS, "Content-Disposition": _content_disposition(filename)}
        return Response(body, media_type="application/pdf", headers=headers)
