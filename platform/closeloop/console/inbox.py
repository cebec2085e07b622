"""The inbox (`/console/inbox`): the user's in-app notifications, and the unread count
every page's header shows and keeps current.

The records are the in-app channel's (`closeloop.notify.records`, as `GET
/api/v1/inbox` reads them): the signed-in user's delivered `inbox` notifications,
newest first. Marking read goes through the same functions as the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from closeloop.console.deps import Viewer
from closeloop.console.live import POLL_SECONDS, live_stamp, unchanged
from closeloop.console.pages import render, request_locale, see_other
from closeloop.errors import Forbidden
from closeloop.identity.access import ALL_ROLES, access
from closeloop.notify import records
from closeloop.web.deps import DbSession

__all__ = ["InboxPageController"]

PAGE_SIZE = 50
INBOX = "/console/inbox"
Cursor = Annotated[str | None, QueryParameter(max_length=400)]


def _user(viewer: Viewer) -> uuid.UUID:
    if viewer.principal.user_id is None:  # a console session is always a user's
        raise Forbidden("the inbox belongs to a user", code="user_required")
    return viewer.principal.user_id


class InboxPageController(Controller):
    path = "/inbox"

    @get("/", opt=access(*ALL_ROLES))
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        unread: Annotated[bool, QueryParameter()] = False,
        cursor: Cursor = None,
    ) -> Template:
        """The user's notifications, newest first; `unread=true`: only the unread."""
        user_id = _user(viewer)
        rows, next_cursor = await records.inbox(
            db_session, user_id, unread_only=unread, limit=PAGE_SIZE, cursor=cursor
        )
        count = await records.unread_count(db_session, user_id)
        return render(
            request,
            "inbox/inbox.html",
            locale=request_locale(request, viewer.tenant_locale),
            viewer=viewer,
            items=rows,
            unread=count,
            unread_only=unread,
            next_cursor=next_cursor,
        )

    @get("/count", opt=access(*ALL_ROLES))
    async def unread_count(
        self, request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer
    ) -> Template | Response[bytes]:
        """The header's unread count (polled; 204 while it is unchanged)."""
        count = await records.unread_count(db_session, _user(viewer))
        locale = request_locale(request, viewer.tenant_locale)
        stamp = live_stamp(locale, count)
        if (answer := unchanged(request, stamp)) is not None:
            return answer
        return render(
            request,
            "inbox/_count.html",
            locale=locale,
            inbox_unread=count,
            inbox_stamp=stamp,
            poll_seconds=POLL_SECONDS,
        )

    @post("/{notification_id:uuid}/read", opt=access(*ALL_ROLES))
    async def mark_read(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        notification_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """Mark one notification read (again: no change); another user's is a 404."""
        item = await records.mark_read(db_session, _user(viewer), notification_id)
        if not request.headers.get("hx-request"):
            return see_other(INBOX)
        page = render(
            request,
            "inbox/_item.html",
            locale=request_locale(request, viewer.tenant_locale),
            viewer=viewer,
            item=item,
        )
        page.headers["HX-Trigger"] = "closeloop:inbox"  # the header's count follows now
        return page

    @post("/read", opt=access(*ALL_ROLES))
    async def mark_all_read(self, db_session: DbSession, viewer: Viewer) -> Redirect:
        """Mark every notification of the user read."""
        await records.mark_all_read(db_session, _user(viewer))
        return see_other(INBOX)
