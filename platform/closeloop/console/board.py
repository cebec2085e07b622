"""The supervisor board (`/console/board`): what needs a supervisor now.

Breaches and escalations (the first cases of each, next due first), the reopened,
unassigned and follow-up counts, and each handler's load (open, due today, breached).
Every figure is counted by the case list's own service with the filters of the queue
it links to, so a click shows the cases behind the number. The open board polls
itself like the queues (204 while nothing on it changed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Template

from closeloop.cases.listing import CaseFilters, count_cases, handler_load, list_cases
from closeloop.console.deps import Page
from closeloop.console.directory import load_names
from closeloop.console.i18n import N_
from closeloop.console.live import POLL_SECONDS, live_stamp, unchanged
from closeloop.console.queues import QUEUES, queue_filters, queue_rows, queue_url
from closeloop.db import utcnow
from closeloop.identity.access import access
from closeloop.identity.models import Role

__all__ = ["BOARD_ROLES", "BoardController"]

BOARD_ROLES = (Role.SUPERVISOR, Role.ADMIN)
SHOWN = 10  # cases listed per panel; the link shows them all
BOARD_ID = "board-live"
# The counters: the queue each links to (and counts), and extra filters of the link.
COUNTERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("breached", {}),
    ("open", {"escalated": "true"}),
    ("due-soon", {}),
    ("reopened", {}),
    ("unassigned", {}),
    ("followups", {}),
)
COUNTER_TITLES = {"open": N_("Escalated")}


def _end_of_day(now: dt.datetime, timezone: str) -> dt.datetime:
    """Midnight after `now` in the tenant's time zone."""
    local = now.astimezone(zoneinfo.ZoneInfo(timezone or "UTC"))
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=local.tzinfo)


class BoardController(Controller):
    path = "/board"

    @get("/", opt=access(*BOARD_ROLES))
    async def board(self, page: Page) -> Template | Response[bytes]:
        """The board; polled by the page (204 while nothing on it changed)."""
        db_session, viewer, locale = page.db_session, page.viewer, page.locale
        now = utcnow()
        counters: list[dict[str, Any]] = []
        for name, extra in COUNTERS:
            filters = queue_filters(name, None, now)
            assert filters is not None
            if extra.get("escalated"):
                filters = dataclasses.replace(filters, escalated=True)
            total, capped = await count_cases(db_session, filters)
            counters.append(
                {
                    "title": COUNTER_TITLES.get(name, QUEUES[name].title),
                    "total": total,
                    "capped": capped,
                    "url": queue_url(name, **extra),
                    "key": name if not extra else "escalated",
                }
            )
        panels: list[dict[str, Any]] = []
        for title, name, extra in (
            (N_("Breached now"), "breached", {}),
            (N_("Escalated now"), "open", {"escalated": "true"}),
        ):
            filters = queue_filters(name, None, now, CaseFilters(escalated=bool(extra) or None))
            assert filters is not None
            cases, _ = await list_cases(db_session, filters, limit=SHOWN, order="due")
            panels.append(
                {
                    "title": title,
                    "url": queue_url(name, **extra),
                    "rows": await queue_rows(page, cases),
                }
            )
        until = _end_of_day(now, viewer.tenant_timezone)
        load = await handler_load(db_session, until=until)
        names = await load_names(db_session, locale, [row.handler_id for row in load])
        team = [
            {
                "name": names.users.get(row.handler_id, str(row.handler_id)),
                "open": row.open,
                "due_today": row.due_soon,
                "breached": row.breached,
                "open_url": queue_url("open", assignee=row.handler_id),
                "due_today_url": queue_url(
                    "open", assignee=row.handler_id, breached="false", due_before=until.isoformat()
                ),
                "breached_url": queue_url("breached", assignee=row.handler_id),
            }
            for row in load
        ]
        stamp = live_stamp(
            locale,
            [c["total"] for c in counters],
            [[(r["id"], r["status"], r["escalation"]) for r in p["rows"]] for p in panels],
            team,
        )
        partial = page.request.headers.get("hx-target") == BOARD_ID
        if partial and (answer := unchanged(page.request, stamp)) is not None:
            return answer
        return page.render(
            "board/_board.html" if partial else "board/board.html",
            counters=counters,
            panels=panels,
            team=team,
            board_id=BOARD_ID,
            stamp=stamp,
            poll_seconds=POLL_SECONDS,
        )
