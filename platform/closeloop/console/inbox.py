"""The inbox (`/console/inbox`): the user's in-app notifications, and the unread count
every page's header shows and keeps current.

The records are the in-app channel's (`closeloop.notify.records`, as `GET
/api/v1/inbox` reads them): the signed-in user's delivered `inbox` notifications,
newest first. Marking read goes through the same functions as the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from closeloop.console.deps import ConsolePage, Page
from closeloop.console.live import POLL_SECONDS, live_stamp, unchanged
from closeloop.console.pages import see_other
from closeloop.errors import Forbidden
from closeloop.identity.access import ALL_ROLES, access
from closeloop.notify import records

__all__ = ["InboxPageController"]

PAGE_SIZE = 50
INBOX = "/console/inbox"
Cursor = Annotated[str | None, QueryParameter(max_length=400)]


def _user(page: ConsolePage) -> uuid.UUID:
    if page.viewer.principal.user_id is None:  # a console session is always a user's
        raise Forbidden("the inbox belongs to a user", code="user_required")
    return page.viewer.principal.user_id


class InboxPageController(Controller):
    path = "/inbox"

    @get("/", opt=access(*ALL_ROLES))
    async def inbox(
        self, page: Page, unread: Annotated[bool, QueryParameter()] = False, cursor: Cursor = None
    ) -> Template:
        """The user's notifications, newest first; `unread=true`: only the unread."""
        user_id = _user(page)
        rows, next_cursor = await records.inbox(
            page.db_session, user_id, unread_only=unread, limit=PAGE_SIZE, cursor=cursor
        )
        count = await records.unread_count(page.db_session, user_id)
        return page.render(
            "inbox/inbox.html",
            items=rows,
            unread=count,
            unread_only=unread,
            next_cursor=next_cursor,
        )

    @get("/count", opt=access(*ALL_ROLES))
    async def unread_count(self, page: Page) -> Template | Response[bytes]:
        """The header's unread count (polled; 204 while it is unchanged)."""
        count = await records.unread_count(page.db_session, _user(page))
        stamp = live_stamp(page.locale, count)
        if (answer := unchanged(page.request, stamp)) is not None:
            return answer
        return page.render(
            "inbox/_count.html", inbox_unread=count, inbox_stamp=stamp, poll_seconds=POLL_SECONDS
        )

    @post("/{notification_id:uuid}/read", opt=access(*ALL_ROLES))
    async def mark_read(
        self, page: Page, notification_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Mark one notification read (again: no change); another user's is a 404."""
        item = await records.mark_read(page.db_session, _user(page), notification_id)
        if not page.request.headers.get("hx-request"):
            return see_other(INBOX)
        answer = page.render("inbox/_item.html", item=item)
        answer.headers["HX-Trigger"] = "closeloop:inbox"  # the header's count follows now
        return answer

    @post("/read", opt=access(*ALL_ROLES))
    async def mark_all_read(self, page: Page) -> Redirect:
        """Mark every notification of the user read."""
        await records.mark_all_read(page.db_session, _user(page))
        return see_other(INBOX)
