"""Business calendars through the API: every tenant starts with a default calendar; admins
create, change and delete calendars; exactly one is the default; bad settings are refused
naming the field with nothing written; every write is audited; staff read; another
tenant's calendar is a 404; `load()` computes with what is stored."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.sla import calendar_service
from support import PASSWORD, Client, TenantHandle, bearer, fields_of, login

API = "/api/v1/calendars"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
WEEKDAY_HOURS = ["09:00-12:00", "13:30-18:00"]
DEFAULT_WEEK = {
    **{d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [],
    "sun": [],
}


async def _calendars(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def _create(client: Client, tenant: TenantHandle, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _audit(client: Client, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"entity_type": "calendar"}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["entity_type"] == "calendar"]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _fields(error: dict[str, Any]) -> list[str | None]:
    return fields_of(error)


def sh(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# ---- the default calendar ----------------------------------------------------------------


async def test_a_new_tenant_starts_with_one_default_calendar(
    client: Client, tenant: TenantHandle
) -> None:
    (calendar,) = await _calendars(client, tenant.headers)
    assert calendar["code"] == "default"
    assert calendar["is_default"] is True
    assert (calendar["timezone"], calendar["country"], calendar["subdivision"]) == (
        "Asia/Shanghai",
        "CN",
        None,
    )
    assert calendar["week_hours"] == DEFAULT_WEEK
    assert calendar["workday_hours"] is None
    assert calendar["extra_holidays"] == calendar["extra_working_days"] == []


async def test_the_default_calendar_follows_the_tenants_time_zone(client: Client) -> None:
    response = await client.post(
        "/platform/v1/tenants/",
        headers={"Authorization": "Bearer test-operator-token-0123456789abcdef"},
        json={
            "slug": "berlin-gmbh",
            "name": "Berlin GmbH",
            "admin_email": "admin@berlin.example.com",
            "admin_password": PASSWORD,
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 201, response.text
    headers = bearer(await login(client, "berlin-gmbh", "admin@berlin.example.com"))
    (calendar,) = await _calendars(client, headers)
    assert calendar["timezone"] == "Europe/Berlin"


# ---- create, read, change, delete ----------------------------------------------------------


async def test_admin_creates_reads_changes_and_deletes_a_calendar(
    client: Client, tenant: TenantHandle
) -> None:
    created = await _create(
        client,
        tenant,
        code="night-desk",
        name="Night desk",
        timezone="Europe/Berlin",
        country="de",
        subdivision="BY",
        week_hours={"mon": ["22:00-24:00", "00:00-06:00"], "sat": ["10:00-14:00"]},
        workday_hours=["09:00-17:00"],
        extra_holidays=["2026-12-24", "2026-12-24", "2026-12-23"],
        extra_working_days=["2026-12-27"],
    )
    assert created["is_default"] is False
    assert created["country"] == "DE"  # normalized
    assert created["week_hours"]["mon"] == ["00:00-06:00", "22:00-24:00"]
    assert created["week_hours"]["tue"] == []
    assert created["extra_holidays"] == ["2026-12-23", "2026-12-24"]
    calendar_id = created["id"]

    response = await client.get(f"{API}/{calendar_id}", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == created

    response = await client.patch(
        f"{API}/{calendar_id}",
        headers=tenant.headers,
        json={"name": "Night desk (Bavaria)", "extra_working_days": []},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["name"] == "Night desk (Bavaria)"
    assert changed["extra_working_days"] == []
    assert changed["updated_at"] > created["updated_at"]

    response = await client.delete(f"{API}/{calendar_id}", headers=tenant.headers)
    assert response.status_code == 204, response.text
    response = await client.get(f"{API}/{calendar_id}", headers=tenant.headers)
    assert _error(response, 404)["code"] == "not_found"

    actions = [(e["action"], e["entity_id"]) for e in await _audit(client, tenant)]
    assert ("calendar.create", calendar_id) in actions
    assert ("calendar.update", calendar_id) in actions
    assert ("calendar.delete", calendar_id) in actions
    update = next(e for e in await _audit(client, tenant) if e["action"] == "calendar.update")
    assert update["before"] == {"extra_working_days": ["2026-12-27"], "name": "Night desk"}
    assert update["after"] == {"extra_working_days": [], "name": "Night desk (Bavaria)"}


async def test_a_patch_that_changes_nothing_writes_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    (calendar,) = await _calendars(client, tenant.headers)
    response = await client.patch(
        f"{API}/{calendar['id']}",
        headers=tenant.headers,
        json={
            "week_hours": {
                "fri": WEEKDAY_HOURS[::-1],
                **{d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu")},
            }
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["updated_at"] == calendar["updated_at"]
    assert await _audit(client, tenant) == []


async def test_exactly_one_calendar_is_the_default(client: Client, tenant: TenantHandle) -> None:
    (first,) = await _calendars(client, tenant.headers)
    second = await _create(client, tenant, code="second", name="Second", is_default=True)
    assert second["is_default"] is True
    defaults = [c["code"] for c in await _calendars(client, tenant.headers) if c["is_default"]]
    assert defaults == ["second"]

    # Back again by PATCH; the list shows the default first.
    response = await client.patch(
        f"{API}/{first['id']}", headers=tenant.headers, json={"is_default": True}
    )
    assert response.status_code == 200, response.text
    listed = await _calendars(client, tenant.headers)
    assert [(c["code"], c["is_default"]) for c in listed] == [("default", True), ("second", False)]

    # The default stops being one only when another takes its place, and stays.
    response = await client.patch(
        f"{API}/{first['id']}", headers=tenant.headers, json={"is_default": False}
    )
    assert _fields(_error(response, 422)) == ["is_default"]
    response = await client.delete(f"{API}/{first['id']}", headers=tenant.headers)
    assert _fields(_error(response, 409)) == ["is_default"]
    assert [c["is_default"] for c in await _calendars(client, tenant.headers)] == [True, False]

    flags = [
        (e["action"], e["entity_id"], e["after"].get("is_default"))
        for e in await _audit(client, tenant)
    ]
    assert ("calendar.update", first["id"], False) in flags
    assert ("calendar.update", second["id"], False) in flags
    assert ("calendar.update", first["id"], True) in flags


async def test_the_first_calendar_of_a_tenant_is_its_default(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    from sqlalchemy import delete

    from closeloop.sla.calendar_models import Calendar

    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await session.execute(delete(Calendar))
    created = await _create(client, tenant, code="only", name="Only", is_default=False)
    assert created["is_default"] is True


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, 422, "timezone"),
        ({"country": "XX"}, 422, "country"),
        ({"country": "CN", "subdivision": "ZZ"}, 422, "subdivision"),
        ({"week_hours": {"mon": ["09:00-12:00", "11:30-13:00"]}}, 422, "week_hours.mon[1]"),
        ({"week_hours": {"tue": ["18:00-09:00"]}}, 422, "week_hours.tue[0]"),
        ({"week_hours": {"wed": ["09:00-25:00"]}}, 422, "week_hours.wed[0]"),
        ({"week_hours": {}}, 422, "week_hours"),
        ({"workday_hours": ["12:00-12:00"]}, 422, "workday_hours[0]"),
        (
            {"extra_holidays": ["2026-05-06"], "extra_working_days": ["2026-05-06"]},
            422,
            "extra_working_days",
        ),
        ({"extra_holidays": ["2026-02-30"]}, 400, "extra_holidays[0]"),
        ({"extra_working_days": ["next friday"]}, 400, "extra_working_days[0]"),
        ({"week_hours": {"thu": ["9-5"]}}, 400, "week_hours.thu[0]"),
        ({"week_hours": {"monday": ["09:00-12:00"]}}, 400, "week_hours.monday"),
        ({"code": "Not A Code"}, 400, "code"),
        ({"colour": "blue"}, 400, "colour"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    client: Client, tenant: TenantHandle, body: dict[str, Any], status: int, field: str
) -> None:
    before = await _calendars(client, tenant.headers)
    response = await client.post(
        f"{API}/", headers=tenant.headers, json={"code": "bad", "name": "Bad", **body}
    )
    error = _error(response, status)
    assert any(found and found.endswith(field) for found in _fields(error)), error
    assert await _calendars(client, tenant.headers) == before
    assert await _audit(client, tenant) == []


async def test_bad_changes_are_refused_naming_the_field(
    client: Client, tenant: TenantHandle
) -> None:
    (calendar,) = await _calendars(client, tenant.headers)
    url = f"{API}/{calendar['id']}"
    response = await client.patch(url, headers=tenant.headers, json={"country": "Q1"})
    assert _error(response, 400)  # not a country code at all
    response = await client.patch(url, headers=tenant.headers, json={"country": "ZZ"})
    assert _fields(_error(response, 422)) == ["country"]
    response = await client.patch(
        url, headers=tenant.headers, json={"week_hours": {"fri": ["13:00-14:00", "09:00-13:30"]}}
    )
    assert _fields(_error(response, 422)) == ["week_hours.fri[0]"]
    response = await client.patch(url, headers=tenant.headers, json={"code": "renamed"})
    assert _error(response, 400)  # a code never changes
    assert await _calendars(client, tenant.headers) == [calendar]


async def test_a_code_is_unique_within_the_tenant(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    response = await client.post(
        f"{API}/", headers=tenant.headers, json={"code": "default", "name": "Again"}
    )
    assert _fields(_error(response, 409)) == ["code"]
    await _create(client, other_tenant, code="shared", name="B's")
    await _create(client, tenant, code="shared", name="A's")


# ---- who may ---------------------------------------------------------------------------


async def test_staff_read_calendars_and_only_admins_change_them(
    client: Client, tenant: TenantHandle
) -> None:
    email = f"agent@{tenant.slug}.example.com"
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": "Agent", "password": PASSWORD, "roles": ["agent"]},
    )
    assert response.status_code == 201, response.text
    agent = bearer(await login(client, tenant.slug, email))
    (calendar,) = await _calendars(client, agent)
    response = await client.get(f"{API}/{calendar['id']}/days", headers=agent)
    assert response.status_code == 200
    response = await client.post(f"{API}/", headers=agent, json={"code": "x", "name": "X"})
    assert _error(response, 403)["code"] == "role_required"
    response = await client.patch(f"{API}/{calendar['id']}", headers=agent, json={"name": "X"})
    assert _error(response, 403)["code"] == "role_required"
    response = await client.get(f"{API}/")
    assert response.status_code == 401


async def test_another_tenants_calendar_is_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = await _create(client, tenant, code="mine", name="Mine")
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"{API}/{mine['id']}",
            headers=other_tenant.headers,
            json={"name": "taken"} if method == "PATCH" else None,
        )
        assert _error(response, 404)["code"] == "not_found", method
    response = await client.get(f"{API}/{mine['id']}/days", headers=other_tenant.headers)
    assert _error(response, 404)["code"] == "not_found"
    theirs = await _calendars(client, other_tenant.headers)
    assert mine["id"] not in {c["id"] for c in theirs}
    response = await client.get(f"{API}/{mine['id']}", headers=tenant.headers)
    assert response.json()["name"] == "Mine"


# ---- what the calendar computes with -------------------------------------------------------


async def test_days_show_the_spring_festival_and_the_substituted_saturdays(
    client: Client, tenant: TenantHandle
) -> None:
    (calendar,) = await _calendars(client, tenant.headers)
    response = await client.get(
        f"{API}/{calendar['id']}/days",
        headers=tenant.headers,
        params={"from": "2026-02-13", "to": "2026-02-28"},
    )
    assert response.status_code == 200, response.text
    days = {d["date"]: d for d in response.json()}
    assert len(days) == 16
    assert days["2026-02-13"] == {
        "date": "2026-02-13",
        "working": True,
        "holiday": False,
        "hours": WEEKDAY_HOURS,
    }
    assert days["2026-02-14"]["working"]  # a substituted Saturday, with a weekday's hours
    assert days["2026-02-14"]["hours"] == WEEKDAY_HOURS
    assert days["2026-02-28"]["working"]
    off = [d for d, v in days.items() if not v["working"]]
    assert off == [f"2026-02-{n}" for n in range(15, 24)]
    assert days["2026-02-17"]["holiday"] is True
    response = await client.get(
        f"{API}/{calendar['id']}/days",
        headers=tenant.headers,
        params={"from": "2026-01-01", "to": "2027-01-02"},
    )
    assert _fields(_error(response, 422)) == ["to"]


async def test_load_computes_with_the_stored_calendar_and_sees_changes(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        calendar = await calendar_service.load(session)
        again = await calendar_service.load(session)
    assert again is calendar  # cached per calendar version
    # "Contact within 1 working day" on a Friday 17:30 and over the Spring Festival.
    assert calendar.add_working_days(sh("2026-03-06 17:30"), 1) == sh("2026-03-09 17:30")
    assert calendar.add_working_days(sh("2026-02-13 17:30"), 2) == sh("2026-02-24 17:30")

    # A tenant's extra holiday moves the due time.
    (stored,) = await _calendars(client, tenant.headers)
    response = await client.patch(
        f"{API}/{stored['id']}", headers=tenant.headers, json={"extra_holidays": ["2026-03-09"]}
    )
    assert response.status_code == 200, response.text
    async with transaction(factory, tenant.id) as session:
        changed = await calendar_service.load(session, uuid.UUID(stored["id"]))
    assert changed is not calendar
    assert changed.add_working_days(sh("2026-03-06 17:30"), 1) == sh("2026-03-10 17:30")


async def test_load_refuses_another_tenants_calendar(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    mine = await _create(client, tenant, code="mine", name="Mine")
    async with transaction(sessionmaker(app_engine), other_tenant.id) as session:
        with pytest.raises(Exception, match="no such calendar"):
            await calendar_service.load(session, uuid.UUID(mine["id"]))
