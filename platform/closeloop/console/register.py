"""Screen 1, register a case (登记): the form an agent fills in while the customer is on
the phone, the customer lookup as they type, and the result page.

The form posts to the same intake service as `POST /api/v1/cases`
(`IntakeService.register`), with the form's own `Idempotency-Key` (a hidden field made
when the form is shown), so a double submit answers the first case; dropped files go
through the attachment API's checks and service. A refusal shows the form again with
the problem next to its field (4xx), nothing stored: the intake runs in a savepoint.
Submitted with htmx, the inputs holding personal data are kept by the browser
(`hx-preserve`), so the page never writes them back; without script they come back
only to a viewer holding `pii`.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from babel.dates import format_timedelta
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from closeloop.cases.controllers import INTAKE_ROLES
from closeloop.cases.deps import (
    provide_attachments,
    provide_case_intake,
    provide_case_service,
    provide_storage,
)
from closeloop.console.deps import ConsolePage, Page
from closeloop.console.i18n import babel_formats
from closeloop.console.pages import SECURITY_HEADERS, see_other
from closeloop.console.register_findings import finding_lines, hook_titles
from closeloop.console.register_form import (
    CUSTOMER_FIELDS,
    KINDS,
    PII_INPUTS,
    PRODUCT_FIELDS,
    FormProblems,
    extra_field_specs,
    form_values,
    intake_body,
    load_choices,
    read_uploads,
)
from closeloop.console.register_lookup import look_up_customer
from closeloop.customers.deps import provide_customer_service
from closeloop.errors import ApiError
from closeloop.identity.access import access
from closeloop.plugins.deps import provide_plugin_admin

__all__ = ["RegisterController"]

REGISTER = access(*INTAKE_ROLES)  # the roles of POST /api/v1/cases
# What the result page shows of the plugins' findings, in this order.
SHOWN_HOOKS = (
    "classify_case",
    "assess_severity",
    "check_entitlement",
    "suggest_resolution",
    "validate_intake",
    "correlate_case",
)
# The form: its fields, every file at the attachment limit, and the multipart framing.
MAX_FILES = 10
FORM_BODY_LIMIT = 128 * 1024 * 1024


def _new_key() -> str:
    return f"console-{secrets.token_urlsafe(24)}"


async def _form_page(
    page: ConsolePage,
    *,
    values: dict[str, Any],
    problems: FormProblems | None = None,
    status_code: int = 200,
) -> Template:
    viewer, locale = page.viewer, page.locale
    choices = await load_choices(
        page.db_session,
        page.settings,
        kind=values.get("kind") or "complaint",
        locale=locale,
        actor=viewer.principal.actor,
    )
    if not viewer.principal.may_see_pii:
        values = {k: ("" if k in PII_INPUTS else v) for k, v in values.items()}
    fragment = bool(page.request.headers.get("hx-request")) and status_code != 200
    return page.render(
        "register/_form.html" if fragment else "register/new.html",
        status_code=status_code,
        values=values,
        problems=problems or FormProblems(locale),
        choices=choices,
        kinds=KINDS,
        customer_fields=CUSTOMER_FIELDS,
        product_fields=PRODUCT_FIELDS,
        may_see_pii=viewer.principal.may_see_pii,
        max_files=MAX_FILES,
    )


def _relative(due: dt.datetime, now: dt.datetime, locale: str) -> str:
    return format_timedelta(
        due - now, granularity="minute", add_direction=True, locale=babel_formats(locale)
    )


class RegisterController(Controller):
    path = "/cases"

    @get("/new", opt=REGISTER)
    async def register_form(self, page: Page) -> Template:
        """The empty form, with a fresh idempotency key."""
        values: dict[str, Any] = {"kind": "complaint", "channel": "phone", "demands": []}
        values["idempotency_key"] = _new_key()
        return await _form_page(page, values=values)

    @post("/new", opt=REGISTER, request_max_body_size=FORM_BODY_LIMIT)
    async def register_case(self, page: Page) -> Template | Redirect | Response[bytes]:
        """Register through the intake service; to the result page, or the form again
        with the problems named (4xx)."""
        request, db_session, settings = page.request, page.db_session, page.settings
        principal = page.viewer.principal
        form = await request.form()
        values = form_values(form)
        problems = FormProblems(page.locale)
        key = values["idempotency_key"].strip()[:200] or _new_key()
        values["idempotency_key"] = key
        status = 422
        try:
            specs = await extra_field_specs(db_session, settings, values["kind"] or "complaint")
            data = intake_body(values, specs)
            files = form.getall("files", [])[: MAX_FILES + 1]
            if len(files) > MAX_FILES:
                raise ApiError(f"at most {MAX_FILES} files", field="files")
            uploads = await read_uploads(files, max_bytes=settings.attachment_max_bytes)
            # A savepoint: a refusal anywhere leaves nothing behind (and the
            # transaction, bound to the tenant, usable for the page).
            async with db_session.begin_nested():
                intake = provide_case_intake(db_session, principal, settings)
                result = await intake.register(data, idempotency_key=key)
                if result.created and uploads:
                    attachments = provide_attachments(
                        db_session, principal, settings, provide_storage(request.app.state)
                    )
                    for upload in uploads:
                        await attachments.add(result.case, upload)
        except msgspec.ValidationError as exc:
            problems.from_validation(exc)
        except ApiError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            status = exc.status_code
            problems.from_error(exc)
        if problems:
            return await _form_page(page, values=values, problems=problems, status_code=status)
        target = f"/console/cases/{result.case.id}/registered"
        if request.headers.get("hx-request"):
            return Response(
                b"", status_code=200, headers={**SECURITY_HEADERS, "HX-Redirect": target}
            )
        return see_other(target)

    @get("/new/extra", opt=REGISTER)
    async def extra_fields(self, page: Page, kind: FromQuery[str] = "complaint") -> Template:
        """The plugins' extra fields and the category tree for another kind."""
        known = {k for k, _ in KINDS}
        choices = await load_choices(
            page.db_session,
            page.settings,
            kind=kind if kind in known else "complaint",
            locale=page.locale,
            actor=page.viewer.principal.actor,
        )
        return page.render(
            "register/_kind_fields.html",
            choices=choices,
            values={"kind": kind},
            problems=FormProblems(page.locale),
        )

    @post("/new/customer", opt=REGISTER)
    async def customer_lookup(self, page: Page) -> Template:
        """The known customer of the phone number or e-mail typed (exact match through
        the keyed hash, as intake finds them), masked unless the viewer has `pii`, with
        their recent cases and whether this one would be a repeat."""
        form = await page.request.form()
        lookup = await look_up_customer(
            page.db_session,
            provide_customer_service(page.db_session, page.viewer.principal, page.settings),
            phone=str(form.get("customer.phone") or ""),
            email=str(form.get("customer.email") or ""),
            category=str(form.get("category_id") or ""),
        )
        return page.render(
            "register/_customer.html", lookup=lookup, timezone=page.viewer.tenant_timezone
        )

    @get("/{case_id:uuid}/registered", opt=REGISTER)
    async def registered(self, page: Page, case_id: FromPath[uuid.UUID]) -> Template:
        """The registered case: its number, the promised reply time in the tenant's time
        zone, and what the plugins said."""
        db_session, principal, locale = page.db_session, page.viewer.principal, page.locale
        case = await provide_case_service(db_session, principal, page.settings).get(case_id)
        findings = await provide_plugin_admin(db_session, principal, page.settings).findings(
            case.id
        )
        shown = sorted(
            (f for f in findings if f.hook in SHOWN_HOOKS),
            key=lambda f: (SHOWN_HOOKS.index(f.hook), f.plugin),
        )
        now = dt.datetime.now(dt.UTC)
        timezone = page.viewer.tenant_timezone
        return page.render(
            "register/done.html",
            case=case,
            findings=shown,
            due_local=case.due_at.astimezone(ZoneInfo(timezone)) if case.due_at else None,
            due_relative=_relative(case.due_at, now, locale) if case.due_at else None,
            timezone=timezone,
            hook_titles=hook_titles(locale),
            finding_lines=functools.partial(finding_lines, locale),
        )
