"""The report e-mails page (`/console/reports/schedules`, admins): a tenant's weekly and
monthly report e-mails, listed with when each goes out next; add one, change one
(recipients, language, frequency, name, paused or not), pause or resume it from the
list, delete it.

Every step calls `ReportScheduleService` (the provider of `/api/v1/report-schedules`,
audited as the signed-in admin), so the page holds no rule of its own: the service
checks the frequency, the language, the name and each recipient, and the page shows its
refusal next to the field it names (422), having changed nothing (each change runs in a
savepoint). The page names recipients by e-mail address (`recipient_ids` turns them into
the user ids the service keeps). Another tenant's schedule, or nobody's, is the 404 page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from closeloop.console.deps import ConsolePage, Page
from closeloop.console.i18n import N_, gettext
from closeloop.console.pages import LANGUAGE_NAMES, see_other
from closeloop.errors import ApiError
from closeloop.identity.access import access
from closeloop.identity.models import Role, User
from closeloop.reports.schedule_deps import provide_report_schedule_service
from closeloop.reports.schedule_models import ReportSchedule
from closeloop.reports.schedules import FREQUENCIES, LOCALES, MAX_NAME, ReportScheduleService

__all__ = ["HOME", "ReportSchedulePageController", "read_form"]

ADMIN = access(Role.ADMIN)  # the roles of /api/v1/report-schedules
HOME = "/console/reports/schedules"
FREQUENCY_LABELS = {
    "weekly": N_("Weekly: Monday 09:00, last week"),
    "monthly": N_("Monthly: the 1st 09:00, last month"),
}
FIELD_LABELS = {
    "name": N_("Title"),
    "frequency": N_("How often"),
    "locale": N_("Language"),
    "recipients": N_("Recipients"),
    "active": N_("Sending"),
}
# Addresses in the recipients box: one a line, or separated by commas or semicolons.
_SEPARATORS = re.compile(r"[\s,;，；、]+")
Schedules = NamedDependency[ReportScheduleService]


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def read_form(form: Any) -> tuple[dict[str, Any], list[str]]:
    """The schedule form as the service takes it (`name`, `frequency`, `locale`,
    `active`) and the recipients' e-mail addresses as typed."""
    values = {
        "name": _text(form, "name"),
        "frequency": _text(form, "frequency"),
        "locale": _text(form, "locale"),
        "active": _text(form, "active") in ("on", "true"),
    }
    emails = [part for part in _SEPARATORS.split(_text(form, "recipients")) if part]
    return values, emails


def _field(error: ApiError) -> str | None:
    """The form field a refusal names (`recipients[2]` is the recipients box)."""
    for name in error.fields:
        return name.split("[", 1)[0]
    return None


def _problem(locale: str, error: ApiError) -> dict[str, Any]:
    """A refusal as the page shows it: the field, its label and the service's words
    (without their leading "recipients[1]: ", which the label says)."""
    field = _field(error)
    label = gettext(locale, FIELD_LABELS[field]) if field in FIELD_LABELS else None
    message = error.message
    for name in error.fields:
        message = message.removeprefix(f"{name}: ")
    return {"field": field, "label": label, "message": message}


def _emails(users: dict[uuid.UUID, User], ids: Sequence[uuid.UUID]) -> list[str]:
    return [users[user_id].email for user_id in ids if user_id in users]


class ReportSchedulePageController(Controller):
    path = "/reports/schedules"
    opt = ADMIN
    dependencies = {
        "schedules": Provide(provide_report_schedule_service, sync_to_thread=False),
    }

    async def _context(self, page: ConsolePage, schedules: Schedules) -> dict[str, Any]:
        locale = page.locale
        return {
            "frequencies": [(f, gettext(locale, FREQUENCY_LABELS[f])) for f in FREQUENCIES],
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
            "readers": await schedules.readers(),
            "max_name": MAX_NAME,
        }

    async def _rows(self, schedules: Schedules, rows: Sequence[ReportSchedule]) -> list[Any]:
        users = await schedules.users([uid for row in rows for uid in row.recipients])
        return [{"schedule": row, "recipients": _emails(users, row.recipients)} for row in rows]

    async def _index(
        self,
        page: ConsolePage,
        schedules: Schedules,
        *,
        values: dict[str, Any] | None = None,
        problem: ApiError | None = None,
    ) -> Template:
        context = await self._context(page, schedules)
        return page.render(
            "reports/schedules.html",
            status_code=problem.status_code if problem else 200,
            rows=await self._rows(schedules, await schedules.list()),
            values=values
            or {"frequency": "weekly", "locale": page.viewer.tenant_locale, "active": True},
            problem=_problem(page.locale, problem) if problem else None,
            **context,
        )

    @get("/")
    async def schedules_page(self, page: Page, schedules: Schedules) -> Template:
        """The tenant's report e-mails and the form to add one."""
        return await self._index(page, schedules)

    @post("/")
    async def create_schedule(self, page: Page, schedules: Schedules) -> Template | Redirect:
        """Add a report e-mail; a refusal is the page again with the problem at its
        field (422), nothing added."""
        form = await page.request.form()
        values, emails = read_form(form)
        try:
            async with page.db_session.begin_nested():
                recipients = await schedules.recipient_ids(emails)
                await schedules.create({**values, "recipients": recipients})
        except ApiError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            shown = {**values, "recipients": "\n".join(emails)}
            return await self._index(page, schedules, values=shown, problem=exc)
        return see_other(HOME)

    async def _edit_page(
        self,
        page: ConsolePage,
        schedules: Schedules,
        row: ReportSchedule,
        *,
        values: dict[str, Any] | None = None,
        problem: ApiError | None = None,
    ) -> Template:
        context = await self._context(page, schedules)
        if values is None:
            users = await schedules.users(row.recipients)
            values = {
                "name": row.name,
                "frequency": row.frequency,
                "locale": row.locale,
                "active": row.active,
                "recipients": "\n".join(_emails(users, row.recipients)),
            }
        return page.render(
            "reports/schedule.html",
            status_code=problem.status_code if problem else 200,
            schedule=row,
            values=values,
            problem=_problem(page.locale, problem) if problem else None,
            **context,
        )

    @get("/{report_schedule_id:uuid}")
    async def schedule_page(
        self, page: Page, schedules: Schedules, report_schedule_id: FromPath[uuid.UUID]
    ) -> Template:
        """One report e-mail's form."""
        row = await schedules.get(report_schedule_id)
        return await self._edit_page(page, schedules, row)

    @post("/{report_schedule_id:uuid}")
    async def update_schedule(
        self, page: Page, schedules: Schedules, report_schedule_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Change a report e-mail to the form's values; a refusal is the form again
        with the problem at its field (422), nothing changed."""
        row = await schedules.get(report_schedule_id)  # 404 before reading the form
        form = await page.request.form()
        values, emails = read_form(form)
        try:
            async with page.db_session.begin_nested():
                recipients = await schedules.recipient_ids(emails)
                await schedules.update(row.id, {**values, "recipients": recipients})
        except ApiError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            await page.db_session.refresh(row)
            shown = {**values, "recipients": "\n".join(emails)}
            return await self._edit_page(page, schedules, row, values=shown, problem=exc)
        return see_other(HOME)

    @post("/{report_schedule_id:uuid}/active")
    async def set_schedule_active(
        self, page: Page, schedules: Schedules, report_schedule_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Pause (`active=false`) or resume (`active=true`) a report e-mail; to htmx its
        row of the list, else back to the list."""
        row = await schedules.get(report_schedule_id)
        form = await page.request.form()
        row = await schedules.update(row.id, {"active": _text(form, "active") == "true"})
        if not page.request.headers.get("hx-request"):
            return see_other(HOME)
        context = await self._context(page, schedules)
        (shown,) = await self._rows(schedules, [row])
        return page.render("reports/_schedule_row.html", item=shown, **context)

    @post("/{report_schedule_id:uuid}/delete")
    async def delete_schedule(
        self, schedules: Schedules, report_schedule_id: FromPath[uuid.UUID]
    ) -> Redirect:
        """Stop sending a report e-mail for good (the e-mails sent stay on record)."""
        await schedules.delete(report_schedule_id)
        return see_other(HOME)
