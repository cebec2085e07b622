"""The supervisor board (`/console/board`) over HTTP: the figures of now, each a link
into the queue that lists the cases behind it, and the team's load per handler."""

from __future__ import annotations

import datetime as dt
import re

from console_support import PII, act, console_sign_in, department_id, make_staff, new_case

from support import Client, TenantHandle

ROW = re.compile(r'data-queue-row data-case-id="([0-9a-f-]+)"')


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


async def test_the_board_counts_and_links_into_the_queues(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    logistics = await department_id(client, tenant)
    handler = await make_staff(client, tenant, "handler", name="Li Lei")
    # Received two days ago and never answered: its first reply is overdue.
    late = await new_case(client, tenant.headers, title="Late reply", received_at=ago(days=2))
    taken = await new_case(client, tenant.headers, title="Being handled")
    await act(client, tenant.headers, taken["id"], "verify", valid=True)
    await act(
        client,
        tenant.headers,
        taken["id"],
        "assign",
        lead_department_id=logistics,
        handler_id=str(handler.id),
    )
    fresh = await new_case(client, tenant.headers, title="<script>alert(1)</script>")
    await new_case(client, other_tenant.headers, received_at=ago(days=2))
    supervisor = await make_staff(client, tenant, "supervisor")
    await console_sign_in(client, tenant, supervisor.email)

    response = await client.get("/console/board")
    assert response.status_code == 200, response.text
    board = response.text
    assert "主管看板" in board
    assert 'href="/console/board"' in board  # in the navigation
    # Breached now: the late case (listed, linking to the breached queue) and no other.
    assert set(ROW.findall(board)) == {late["id"]}
    assert 'href="/console/queues/breached"' in board
    assert counter(board, "breached") == "1"
    assert counter(board, "unassigned") == "2"  # the late one and the fresh one
    assert "<script>alert(1)</script>" not in board
    # The supervisor holds no `pii`: the listed customer is masked.
    assert [value for value in PII if value in board] == []
    # The team's load: Li Lei has one open case; each figure links to the cases behind it.
    assert "Li Lei" in board
    links = [
        link.replace("&amp;", "&")
        for link in re.findall(r'href="(/console/queues/[^"]*assignee=[^"]+)"', board)
    ]
    assert len(links) == 3
    open_link, due_today_link, breached_link = links
    assert set(ROW.findall((await client.get(open_link)).text)) == {taken["id"]}
    assert set(ROW.findall((await client.get(due_today_link)).text)) == set()
    assert set(ROW.findall((await client.get(breached_link)).text)) == set()
    assert fresh["id"] not in board

    # The open board polls itself: 204 while nothing changed, the board alone after.
    stamp = re.search(r'id="board-live".*?data-live-stamp="([0-9a-f]+)"', board, re.S)
    assert stamp
    poll = {"HX-Request": "true", "HX-Target": "board-live", "X-Live-Stamp": stamp.group(1)}
    assert (await client.get("/console/board", headers=poll)).status_code == 204
    await new_case(client, tenant.headers, title="Also late", received_at=ago(days=3))
    changed = await client.get("/console/board", headers=poll)
    assert changed.status_code == 200
    assert "<html" not in changed.text
    assert counter(changed.text, "breached") == "2"


def counter(board: str, key: str) -> str:
    found = re.search(rf'board-{key}" href="[^"]+">.*?<p class="h1 mb-0">(\d+)', board, re.S)
    assert found, f"no {key} counter"
    return found.group(1)


async def test_the_board_is_for_supervisors_and_admins(
    client: Client, tenant: TenantHandle
) -> None:
    for role in ("agent", "handler", "followup"):
        user = await make_staff(client, tenant, role)
        await console_sign_in(client, tenant, user.email)
        response = await client.get("/console/board")
        assert response.status_code == 403
        assert "不允许的操作" in response.text
        queue = await client.get("/console/queues/mine")
        assert 'href="/console/board"' not in queue.text
    await console_sign_in(client, tenant, tenant.admin_email)
    assert (await client.get("/console/board")).status_code == 200
