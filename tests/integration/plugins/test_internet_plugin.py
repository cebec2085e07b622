"""The internet plugin through the real intake API: a tenant enables it with
`PUT /api/v1/plugins/internet`, posts incident reports and sees the plugin's findings,
the raised severity, the outage linked after N reports, and the security contact
told of a data-security complaint by the worker; and the demo tenant `cloudnet`
(tenants/internet.toml) enabling it from its tenant file.

The plugin comes from its entry point (`make install` installs `plugins/internet`);
tenants made by the tests have the default levels normal / urgent / critical, so
P1 -> critical, P2 -> urgent, P3 and P4 -> normal.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from cases.case_support import config_id, create_case
from plugin_support import count, findings, put_plugin, run_jobs, timeline
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.config.files import apply_tenant_file, load_tenant_file
from closeloop.db import sessionmaker, transaction
from closeloop.identity.models import User
from closeloop.notify.models import Notification
from closeloop.queue.models import OutboxMessage
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from support import Client, TenantHandle, bearer, fields_of, login

CLOUDNET = Path(__file__).resolve().parents[3] / "tenants" / "internet.toml"
CONTACT = "security@cloudnet.example.com"
SUPERVISOR = "supervisor@cloudnet.example.com"  # the demo tenant's security contact
SETTINGS = {"security_contact": CONTACT, "outage_threshold": 3, "outage_window_minutes": 10}


def report(**extra: Any) -> dict[str, Any]:
    """An intake body: a customer reporting a CDN outage, with the incident `extra`."""
    return {
        "channel": "app",
        "title": "网站打不开",
        "description": "从上午九点起网站一直打不开,报错 503,影响业务。",
        "product": {"name": "CDN 加速"},
        "demands": ["compensation"],
        "extra": extra,
    }


async def enable(client: Client, tenant: TenantHandle, **settings: Any) -> dict[str, Any]:
    return await put_plugin(client, tenant, "internet", enabled=True, settings=settings)


def by_hook(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["hook"]: f for f in items if f["plugin"] == "internet"}


async def test_the_plugin_is_listed_with_its_settings_schema(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.get("/api/v1/plugins", headers=tenant.headers)
    assert response.status_code == 200, response.text
    [internet] = [p for p in response.json() if p["name"] == "internet"]
    assert internet["enabled"] is False
    assert set(internet["hooks"]) == {
        "extra_fields",
        "validate_intake",
        "classify_case",
        "assess_severity",
        "correlate_case",
        "on_case_event",
    }
    schema = internet["settings_schema"]
    fields = schema["$defs"]["Settings"]["properties"]
    assert {"security_contact", "severity_map", "outage_threshold"} <= set(fields)
    body = await enable(client, tenant, **SETTINGS)
    assert body["enabled"] is True
    assert body["settings"]["security_contact"] == CONTACT
    assert body["settings"]["p1_users"] == 10_000  # defaults filled in


async def test_bad_settings_are_refused_naming_the_field(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.put(
        "/api/v1/plugins/internet",
        headers=tenant.headers,
        json={"enabled": True, "settings": {"outage_threshold": 1}},
    )
    assert response.status_code == 422, response.text
    assert "outage_threshold" in response.text


async def test_severity_is_raised_from_the_incident_facts_and_findings_are_on_the_case(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant, **SETTINGS)
    # a region with payments affected: P2 raised to P1 -> critical
    case = await create_case(
        client,
        tenant.headers,
        **report(
            scope="region",
            affected_users=300,
            payment_impact=True,
            service="cdn",
            region="east-china",
        ),
    )
    assert case["severity"] == "critical"
    found = by_hook(await findings(client, tenant, case["id"]))
    assert set(found) == {"classify_case", "assess_severity", "correlate_case"}
    assert all(f["status"] == "ok" for f in found.values())
    assert found["assess_severity"]["result"]["severity"] == "critical"
    assert found["assess_severity"]["result"]["reasons"][:3] == [
        "P1 -> critical",
        "a region is affected (scope region)",
        "+1 level: payments affected",
    ]
    assert found["classify_case"]["result"]["category"]["code"] == "system_failure"
    assert found["correlate_case"]["result"]["key"] == "outage:cdn:east-china"

    # a single free-tier user: P4 -> normal, nothing raised
    quiet = await create_case(
        client, tenant.headers, **report(scope="single_user", service_tier="free")
    )
    assert quiet["severity"] == "normal"


async def test_a_severity_set_by_staff_is_never_lowered(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant)
    critical = await config_id(client, tenant, "severities", "critical")
    case = await create_case(
        client, tenant.headers, **report(scope="single_user"), severity_id=critical
    )
    assert case["severity"] == "critical"
    assert (
        by_hook(await findings(client, tenant, case["id"]))["assess_severity"]["result"]["severity"]
        == "normal"
    )


async def test_negative_numbers_and_wrong_types_are_refused_at_intake(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant)
    refused = await create_case(client, tenant.headers, expect=422, **report(affected_users=-3))
    assert fields_of(refused["error"]) == ["extra.affected_users"]
    wrong = await create_case(client, tenant.headers, expect=422, **report(scope="planet"))
    assert "extra.scope" in str(wrong["error"])
    cases = await client.get("/api/v1/cases", headers=tenant.headers)
    assert cases.json()["items"] == []


async def test_reports_of_one_outage_within_the_window_are_linked_to_one_incident(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant, **SETTINGS)
    outage = {"service": "CDN", "region": "East China", "scope": "region"}
    first = await create_case(client, tenant.headers, **report(**outage))
    other_region = await create_case(
        client, tenant.headers, **report(service="cdn", region="north")
    )
    second = await create_case(client, tenant.headers, **report(**outage))
    for case in (first, other_region, second):
        events = await timeline(client, tenant, case["id"])
        assert not [e for e in events if e["type"] == "correlation_alert"]

    third = await create_case(client, tenant.headers, **report(**outage))  # the threshold
    [alert] = [
        e for e in await timeline(client, tenant, third["id"]) if e["type"] == "correlation_alert"
    ]
    assert "outage:cdn:east-china" in str(alert["data"])
    keys = {
        by_hook(await findings(client, tenant, c["id"]))["correlate_case"]["result"]["key"]
        for c in (first, second, third)
    }
    assert keys == {"outage:cdn:east-china"}
    fourth = await create_case(client, tenant.headers, **report(**outage))
    assert not [
        e for e in await timeline(client, tenant, fourth["id"]) if e["type"] == "correlation_alert"
    ]  # once per key and window


async def test_a_data_security_complaint_is_at_least_urgent_and_mailed_to_the_contact(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    await enable(client, tenant, **SETTINGS)
    security = await config_id(client, tenant, "categories", "information_security")
    case = await create_case(
        client,
        tenant.headers,
        channel="app",
        title="账号被盗,个人信息泄露",
        description="我的账号在异地登录,绑定的手机号和地址被泄露。",
        category_id=security,
        extra={"scope": "single_user"},
    )
    assert case["severity"] == "urgent"  # P4 on its own; the floor is the second highest
    found = by_hook(await findings(client, tenant, case["id"]))
    assert found["assess_severity"]["result"]["reasons"][-1] == (
        "data-security complaint: at least urgent"
    )
    assert found["classify_case"]["result"]["category"]["code"] == "information_security"

    # on_case_event runs in the worker, never in the request
    assert "on_case_event" not in found
    assert await run_jobs(app_engine, tenant.id, "run_case_event_plugins") == 1
    [event_finding] = [
        f
        for f in await findings(client, tenant, case["id"])
        if f["plugin"] == "internet" and f["hook"] == "on_case_event"
    ]
    assert event_finding["status"] == "ok"
    [action] = event_finding["result"]
    assert action["to"] == CONTACT
    assert action["subject"] == f"[信息安全] 案件 {case['number']}: 账号被盗,个人信息泄露"
    # the contact is no staff member: the worker hands the mail to the e-mail job
    assert (
        await count(
            app_engine, tenant.id, OutboxMessage, OutboxMessage.actor_name == "send_plugin_email"
        )
        == 1
    )
    await run_jobs(app_engine, tenant.id, "send_plugin_email")
    [mail] = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_email"]
    assert mail["data"]["to"] == CONTACT
    assert mail["data"]["status"] == "skipped"  # the test settings have no SMTP_URL


async def test_enabling_it_for_one_tenant_changes_nothing_for_another(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await enable(client, tenant, **SETTINGS)
    facts = report(scope="all", service="cdn")
    mine = await create_case(client, tenant.headers, **facts)
    theirs = await create_case(client, other_tenant.headers, **facts)
    assert mine["severity"] == "critical"
    assert theirs["severity"] == "normal"
    assert by_hook(await findings(client, other_tenant, theirs["id"])) == {}
    negative = await create_case(client, other_tenant.headers, **report(affected_users=-3))
    assert negative["extra"]["affected_users"] == -3  # the plugin's rules do not apply there


async def test_the_cloudnet_demo_tenant_runs_the_plugin_from_its_tenant_file(
    client: Client, app_engine: AsyncEngine, settings: Settings
) -> None:
    file = load_tenant_file(CLOUDNET)
    async with transaction(sessionmaker(app_engine)) as session:
        await apply_tenant_file(session, file, settings=settings)
    slug = file.spec.tenant.slug
    headers = bearer(await login(client, slug, "agent@cloudnet.example.com", "closeloop-demo"))
    outage = await create_case(
        client, headers, **report(scope="all", service="object-storage", duration_minutes=30)
    )
    assert outage["severity"] == "major"  # P1 on 一般 / 重要 / 重大
    leak = await create_case(
        client,
        headers,
        channel="app",
        title="个人信息泄露",
        description="客服电话里说出了我的住址,怀疑数据泄露。",
        extra={"data_exposure": True, "scope": "single_user"},
    )
    assert leak["severity"] == "important"  # at least the second highest

    async with transaction(sessionmaker(app_engine)) as session:
        tenant_id = (await session.scalars(select(Tenant.id).where(Tenant.slug == slug))).one()
    async with transaction(sessionmaker(app_engine), tenant_id) as session:
        supervisor = (await session.scalars(select(User.id).where(User.email == SUPERVISOR))).one()
    assert await run_jobs(app_engine, tenant_id, "run_case_event_plugins") == 2
    # the security contact is a staff member: told in the app, about the leak only
    notices = await session_notices(app_engine, tenant_id, supervisor)
    assert notices == {uuid.UUID(leak["id"])}


async def session_notices(
    engine: AsyncEngine, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> set[uuid.UUID | None]:
    """The cases of the `plugin_notice` notifications `user_id` got."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(Notification.case_id).where(
                Notification.event == "plugin_notice", Notification.recipient_user_id == user_id
            )
        )
        return set(rows.all())
