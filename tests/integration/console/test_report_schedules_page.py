"""The report e-mails page (`/console/reports/schedules`) over HTTP: admins only, linked
from the dashboard; adding, changing, pausing, resuming and deleting a schedule through
the same service as `/api/v1/report-schedules` (what the page did is read back from
the API); a bad address, a recipient who may not read reports, an unknown one or a too
long title is the page again with a 422 naming the problem, and nothing changed;
another tenant's schedule is the 404 page."""

from __future__ import annotations

import html
import re
from typing import Any

from console_support import console_sign_in, csrf_of, make_staff

from support import Client, TenantHandle

HOME = "/console/reports/schedules"
ROW = re.compile(r'data-schedule-id="([0-9a-f-]{36})"')


async def _page(client: Client, url: str = HOME) -> str:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def _schedules(client: Client, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/report-schedules", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def _form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"name": "", "frequency": "weekly", "locale": "zh-CN", "active": "on"}
    return {**base, **fields, "_csrf_token": csrf}


def _problem(page: str) -> str:
    found = re.search(r'id="schedule-problem">(.*?)</div>', page, re.S)
    assert found, "no problem shown"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


async def test_only_admins_open_it_and_the_dashboard_links_to_it(
    client: Client, tenant: TenantHandle
) -> None:
    for role in ("supervisor", "viewer"):
        user = await make_staff(client, tenant, role)
        await console_sign_in(client, tenant, user.email)
        dashboard = await _page(client, "/console/reports?period=2026-10")
        assert HOME not in dashboard
        refused = await client.get(HOME)
        assert refused.status_code == 403
    await console_sign_in(client, tenant, tenant.admin_email)
    dashboard = await _page(client, "/console/reports?period=2026-10")
    assert f'href="{HOME}"' in dashboard
    page = await _page(client)
    assert "报表邮件" in page
    assert tenant.admin_email in page  # among those who may receive it
    # The menu marks the section the page belongs to: Reports, and nothing else.
    current = re.findall(r'href="([^"]+)" data-nav-key="\w"\s*aria-current="page"', page)
    assert current == ["/console/reports"]


async def test_an_admin_adds_changes_pauses_and_deletes_a_report_email(
    client: Client, tenant: TenantHandle
) -> None:
    viewer = await make_staff(client, tenant, "viewer")
    agent = await make_staff(client, tenant, "agent")
    await console_sign_in(client, tenant, tenant.admin_email)
    csrf = csrf_of(await _page(client))

    added = await client.post(
        HOME + "/",
        data=_form(
            csrf, name="客服周报", recipients=f"{tenant.admin_email}\n{viewer.email.upper()}"
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    (made,) = await _schedules(client, tenant)
    assert made["name"] == "客服周报"
    assert (made["frequency"], made["locale"], made["active"]) == ("weekly", "zh-CN", True)
    assert made["recipients"] == [str(tenant.admin_id), str(viewer.id)]
    assert made["next_run_at"] is not None
    listed = await _page(client)
    assert ROW.findall(listed) == [made["id"]]
    assert viewer.email in listed

    # Bad input: the form again (422) naming the problem, nothing added.
    refusals = {
        "not-an-address": "'not-an-address' is not an e-mail address",
        "nobody@elsewhere.example.com": "no staff member with the e-mail nobody@elsewhere",
        agent.email: f"{agent.email} may not read reports",
        "": "name at least one staff member",
    }
    for recipients, words in refusals.items():
        refused = await client.post(HOME + "/", data=_form(csrf, recipients=recipients))
        assert refused.status_code == 422, refused.text
        assert "收件人" in _problem(refused.text)
        assert words in _problem(refused.text)
        assert 'aria-invalid="true"' in refused.text
        assert html.escape(recipients) in refused.text  # what was typed is kept
    too_long = await client.post(
        HOME + "/", data=_form(csrf, name="周" * 201, recipients=tenant.admin_email)
    )
    assert too_long.status_code == 422
    assert "标题" in _problem(too_long.text)
    assert [s["id"] for s in await _schedules(client, tenant)] == [made["id"]]

    # Changing it: every field the form has.
    edit = f"{HOME}/{made['id']}"
    page = await _page(client, edit)
    assert tenant.admin_email in page
    assert viewer.email in page
    changed = await client.post(
        edit,
        data=_form(csrf, name="Monthly figures", frequency="monthly", locale="en",
                   recipients=viewer.email),
        follow_redirects=False,
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    (after,) = await _schedules(client, tenant)
    assert (after["name"], after["frequency"], after["locale"]) == (
        "Monthly figures", "monthly", "en"
    )  # fmt: skip
    assert after["recipients"] == [str(viewer.id)]
    # A bad address in the same form: 422, and the other fields were not saved either.
    refused = await client.post(
        edit, data=_form(csrf, name="Renamed", locale="zh-CN", recipients="viewer@@example")
    )
    assert refused.status_code == 422, refused.text
    assert "viewer@@example" in _problem(refused.text)
    assert await _schedules(client, tenant) == [after]

    # Pause from the list (htmx: the row comes back), resume without htmx.
    paused = await client.post(
        f"{edit}/active", data={"active": "false", "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert paused.status_code == 200, paused.text
    assert paused.text.lstrip().startswith("<tr")
    assert "已暂停" in paused.text
    (state,) = await _schedules(client, tenant)
    assert (state["active"], state["next_run_at"]) == (False, None)
    resumed = await client.post(
        f"{edit}/active", data={"active": "true", "_csrf_token": csrf}, follow_redirects=False
    )
    assert resumed.status_code == 303
    (state,) = await _schedules(client, tenant)
    assert state["active"] is True
    assert state["next_run_at"] is not None

    deleted = await client.post(
        f"{edit}/delete", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert await _schedules(client, tenant) == []
    gone = await client.get(edit)
    assert gone.status_code == 404


async def test_another_tenants_schedule_is_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/report-schedules",
        headers=tenant.headers,
        json={"frequency": "weekly", "recipients": [str(tenant.admin_id)]},
    )
    assert response.status_code == 201, response.text
    theirs = f"{HOME}/{response.json()['id']}"
    await console_sign_in(client, other_tenant, other_tenant.admin_email)
    csrf = csrf_of(await _page(client))
    assert ROW.findall(await _page(client)) == []
    assert (await client.get(theirs)).status_code == 404
    form = _form(csrf, recipients=other_tenant.admin_email)
    assert (await client.post(theirs, data=form)).status_code == 404
    assert (await client.post(f"{theirs}/delete", data=form)).status_code == 404
    (kept,) = await _schedules(client, tenant)
    assert kept["id"] == response.json()["id"]
