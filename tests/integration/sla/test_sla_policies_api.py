"""SLA policies through the API: the DESIGN §1 defaults for every new tenant; first match in
the tenant's order wins and the default catches the rest; a policy change leaves existing
cases' clocks alone; refusals name the field and write nothing; the default is always
there; every write is audited; staff read, admins write."""

from __future__ import annotations

from typing import Any

import pytest
import sla_support as sla
from sqlalchemy.ext.asyncio import AsyncEngine

from integration.cases.case_support import config_id, create_case, make_user
from support import Client, TenantHandle, fields_of

API = "/api/v1/sla-policies"


async def _policies(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def _create(client: Client, tenant: TenantHandle, **body: Any) -> dict[str, Any]:
    body.setdefault("name", body["code"])
    body.setdefault("targets", {"first_response": {"unit": "calendar", "hours": 2}})
    response = await client.post(f"{API}/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _policy_of(engine: AsyncEngine, tenant: TenantHandle, case_id: str) -> Any:
    rows = await sla.clocks(engine, tenant.id, case_id)
    return sla.clock(rows, "first_response").policy_id


async def test_a_new_tenant_has_the_default_policies_of_the_practice(
    client: Client, tenant: TenantHandle
) -> None:
    _, viewer = await make_user(client, tenant, "viewer")
    policies = await _policies(client, viewer)
    assert [(p["code"], p["match_severity"], p["is_default"]) for p in policies] == [
        ("critical", "critical", False),
        ("urgent", "urgent", False),
        ("default", None, True),
    ]
    by_code = {p["code"]: p for p in policies}
    first_response = {code: p["targets"]["first_response"] for code, p in by_code.items()}
    assert first_response == {
        "critical": {"unit": "calendar", "hours": 1},
        "urgent": {"unit": "calendar", "hours": 4},
        "default": {"unit": "calendar", "hours": 24},
    }
    default = by_code["default"]["targets"]
    assert default["customer_update"] == {"unit": "business", "hours": 6}
    assert default["customer_contact"] == {"unit": "working_days", "days": 1}
    assert default["followup"] == {"unit": "working_days", "days": 5, "earliest_days": 3}
    assert default["second_handling"] == {"unit": "calendar", "hours": 24}
    # important -> specialist -> department head; major -> customer-service manager.
    urgent = [(lv["trigger"], lv["threshold"], lv["actions"]) for lv in by_code["urgent"]["levels"]]
    assert urgent[:3] == [
        ("percent", 50, ["notify_handler"]),
        ("percent", 80, ["notify_manager"]),
        ("breach", 0, ["notify_manager", "notify_supervisors", "flag"]),
    ]
    assert by_code["critical"]["levels"][0]["actions"] == ["notify_handler", "notify_supervisors"]
    month = [lv for lv in by_code["default"]["levels"] if lv["trigger"] == "age"]
    assert [(lv["threshold"], lv["severity_code"]) for lv in month] == [(720, "critical")]


async def test_the_first_matching_policy_in_order_wins_and_the_default_takes_the_rest(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    billing = await config_id(client, tenant, "categories", "billing_dispute")
    critical = await config_id(client, tenant, "severities", "critical")
    web = await _create(client, tenant, code="web-complaints", position=1, match_kind="complaint",
                        match_channel="web")  # fmt: skip
    bills = await _create(
        client, tenant, code="billing", position=2, match_category="billing_dispute"
    )
    retired = await _create(client, tenant, code="retired", position=0, active=False)
    policies = {p["code"]: p["id"] for p in await _policies(client, tenant.headers)}
    assert list(policies) == [
        "retired",
        "web-complaints",
        "billing",
        "critical",
        "urgent",
        "default",
    ]

    cases = {
        "web billing complaint": await create_case(
            client, tenant.headers, channel="web", category_id=billing
        ),
        "phoned billing complaint": await create_case(client, tenant.headers, category_id=billing),
        "web inquiry": await create_case(client, tenant.headers, channel="web", kind="inquiry"),
        "critical phone case": await create_case(client, tenant.headers, severity_id=critical),
        "plain phone case": await create_case(client, tenant.headers),
    }
    matched = {
        name: str(await _policy_of(app_engine, tenant, case["id"])) for name, case in cases.items()
    }
    assert matched == {
        "web billing complaint": web["id"],
        "phoned billing complaint": bills["id"],
        "web inquiry": policies["default"],
        "critical phone case": policies["critical"],
        "plain phone case": policies["default"],
    }
    assert retired["id"] not in matched.values()


async def test_a_policy_change_applies_to_new_cases_only(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    default = next(p for p in await _policies(client, tenant.headers) if p["is_default"])
    before = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")
    targets = {**default["targets"], "first_response": {"unit": "calendar", "hours": 2}}
    response = await client.patch(
        f"{API}/{default['id']}", headers=tenant.headers, json={"targets": targets}
    )
    assert response.status_code == 200, response.text
    assert response.json()["targets"]["first_response"]["hours"] == 2
    after = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")

    old = sla.clock(await sla.clocks(app_engine, tenant.id, before["id"]), "first_response")
    new = sla.clock(await sla.clocks(app_engine, tenant.id, after["id"]), "first_response")
    assert old.due_at == sla.local(2026, 11, 17, 10, 0)  # still the 24 hours it started with
    assert old.spec == {"unit": "calendar", "hours": 24}
    assert new.due_at == sla.local(2026, 11, 16, 12, 0)
    assert (await sla.read_case(app_engine, tenant.id, before["id"])).due_at == old.due_at


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"match_severity": "nope"}, 422, "match_severity"),
        ({"match_category": "nope"}, 422, "match_category"),
        ({"targets": {"resolution": {"unit": "working_days"}}}, 422, "targets.resolution.days"),
        (
            {"targets": {"resolution": {"unit": "business", "days": 2}}},
            422,
            "targets.resolution.hours",
        ),
        (
            {"targets": {"followup": {"unit": "working_days", "days": 3, "earliest_days": 5}}},
            422,
            "targets.followup.earliest_days",
        ),
        (
            {"levels": [{"target": "resolution", "trigger": "percent", "threshold": 150,
                         "actions": ["flag"]}]},
            422,
            "levels[0].threshold",
        ),
        (
            {"levels": [{"target": "resolution", "trigger": "breach", "actions": ["notify_role"]}]},
            422,
            "levels[0].role",
        ),
        (
            {"levels": [{"target": "resolution", "trigger": "breach", "actions": ["raise_severity"],
                         "severity_code": "nope"}]},
            422,
            "levels[0].severity_code",
        ),
        ({"levels": [{"target": "resolution", "trigger": "breach", "actions": ["shout"]}]}, 400,
         "levels[0].actions[0]"),
        ({"targets": {"lunch": {"unit": "calendar", "hours": 1}}}, 400, "targets.lunch"),
        ({"match_kind": "rumour"}, 400, "match_kind"),
    ],
)  # fmt: skip
async def test_a_bad_policy_is_refused_naming_the_field(
    client: Client, tenant: TenantHandle, body: dict[str, Any], status: int, field: str
) -> None:
    wanted = {"code": "bad", "name": "Bad", "targets": {}, **body}
    response = await client.post(f"{API}/", headers=tenant.headers, json=wanted)
    assert response.status_code == status, response.text
    assert field in fields_of(response.json()), response.text
    assert "bad" not in [p["code"] for p in await _policies(client, tenant.headers)]


async def test_the_default_policy_stays_and_every_write_is_audited(
    client: Client, tenant: TenantHandle
) -> None:
    _, agent = await make_user(client, tenant, "agent")
    policies = await _policies(client, tenant.headers)
    default = next(p for p in policies if p["is_default"])
    refused = await client.post(
        f"{API}/", headers=agent, json={"code": "x", "name": "x", "targets": {}}
    )
    assert refused.status_code == 403

    gone = await client.delete(f"{API}/{default['id']}", headers=tenant.headers)
    assert gone.status_code == 409
    kept = await client.patch(
        f"{API}/{default['id']}", headers=tenant.headers, json={"is_default": False}
    )
    assert kept.status_code == 422
    assert fields_of(kept.json()["error"]) == ["is_default"]

    new_default = await _create(client, tenant, code="fallback", is_default=True)
    assert new_default["is_default"]
    flags = {p["code"]: p["is_default"] for p in await _policies(client, tenant.headers)}
    assert (flags["fallback"], flags["default"]) == (True, False)
    assert list(flags)[-1] == "fallback"  # the default always matches last
    response = await client.delete(f"{API}/{default['id']}", headers=tenant.headers)
    assert response.status_code == 204, response.text

    audit = await client.get("/api/v1/audit", headers=tenant.headers)
    actions = [e["action"] for e in audit.json()["items"] if e["entity_type"] == "sla_policy"]
    assert sorted(set(actions)) == ["sla_policy.create", "sla_policy.delete", "sla_policy.update"]
