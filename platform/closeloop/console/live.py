"""Live pages: due clocks that tick in the browser, and fragments the browser polls.

Due clocks are written on the server ("2 小时 5 分钟 3 秒后到期", "overdue by 35 min 2 s")
and carry their due time (RFC 3339) and start in data attributes; `console.js` rewrites
them every second from the same translated templates, which every page carries in
`<meta name="closeloop-clock">` (see `clock_texts`).

Fragments that update themselves (the queue's rows, the header's unread count) are
polled by htmx. Each carries a stamp of what it shows (`data-live-stamp`); `console.js`
sends it back in the `X-Live-Stamp` header, and the server answers 204 (htmx leaves the
fragment alone) when the stamp is still the same. Why polling and not server-sent
events: docs/console.md, "Live updates".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from litestar import Request, Response

from closeloop.console.i18n import DEFAULT_LOCALE, N_, gettext
from closeloop.console.pages import SECURITY_HEADERS

__all__ = [
    "CLOCK_MESSAGES",
    "LIVE_STAMP_HEADER",
    "POLL_SECONDS",
    "clock_texts",
    "due_clock",
    "live_stamp",
    "unchanged",
]

# How often an open page asks whether what it shows changed.
POLL_SECONDS = 5
LIVE_STAMP_HEADER = "x-live-stamp"

# `{time}` and `{n}` are filled in here and in console.js alike (not Python's %).
CLOCK_MESSAGES = {
    "due_in": N_("due in {time}"),
    "overdue": N_("overdue by {time}"),
    "day": N_("{n} d"),
    "hour": N_("{n} h"),
    "minute": N_("{n} min"),
    "second": N_("{n} s"),
}
# The share of the time from start to due that has passed: below 50 % "ok", below
# 80 % "soon", below 100 % "late", past due "over" (console.css colours them).
LEVELS = ((0.5, "ok"), (0.8, "soon"), (1.0, "late"))


def clock_texts(locale: str | None) -> dict[str, str]:
    """The clock's templates in `locale`, for console.js (one meta tag per page)."""
    return {key: gettext(locale or DEFAULT_LOCALE, text) for key, text in CLOCK_MESSAGES.items()}


def _span(texts: dict[str, str], seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [("day", days), ("hour", hours)]
    elif hours:
        parts = [("hour", hours), ("minute", minutes), ("second", secs)]
    elif minutes:
        parts = [("minute", minutes), ("second", secs)]
    else:
        parts = [("second", secs)]
    return " ".join(texts[unit].replace("{n}", str(n)) for unit, n in parts)


def due_clock(
    locale: str, due: dt.datetime, start: dt.datetime | None, now: dt.datetime
) -> dict[str, Any]:
    """What a due clock shows now: its text and its level (ok, soon, late, over)."""
    texts = clock_texts(locale)
    left = int((due - now).total_seconds())
    if left < 0:
        return {"text": texts["overdue"].replace("{time}", _span(texts, -left)), "level": "over"}
    level = "late"
    if start is not None and due > start:
        share = (now - start).total_seconds() / (due - start).total_seconds()
        level = next((name for limit, name in LEVELS if share < limit), "late")
    return {"text": texts["due_in"].replace("{time}", _span(texts, left)), "level": level}


def live_stamp(*parts: Any) -> str:
    """A short stamp of what a fragment shows: equal stamps, nothing to redraw."""
    raw = json.dumps(parts, default=str, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def unchanged(request: Request[Any, Any, Any], stamp: str) -> Response[bytes] | None:
    """204 when the browser's copy (its `X-Live-Stamp`) is still current, else None."""
    if request.headers.get(LIVE_STAMP_HEADER) == stamp:
        return Response(
            b"", status_code=204, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
        )
    return None
