"""Each hook is called with the right arguments and its result is stored as a finding,
on the timeline and in the audit trail; the case flow uses the results."""

from __future__ import annotations

import dataclasses
import uuid

from cases.case_support import config_id, create_case, make_user
from notify.notify_support import smtp_server
from plugin_support import Recorder, count, findings, put_plugin, run_jobs, timeline
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.cases.models import Case
from closeloop.notify.models import Notification
from closeloop.plugins.models import CaseFinding
from closeloop.plugins.types import CaseSnapshot, TenantInfo
from closeloop.queue import runtime
from closeloop.queue.models import OutboxMessage
from closeloop.settings import Settings
from support import Client, TenantHandle, fields_of

EXTRA = {"serial": "SN-1", "units": 2, "cause": "wear", "bought_on": "2026-01-05"}
INTAKE_HOOKS = [
    "validate_intake",
    "classify_case",
    "assess_severity",
    "check_entitlement",
    "suggest_resolution",
    "correlate_case",
]


async def test_intake_hooks_get_the_case_settings_and_tenant_and_their_results_are_findings(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True, settings={"api_key": "k-123"})
    case = await create_case(client, tenant.headers, extra=EXTRA)

    [fields_call] = recorder.called("extra_fields")
    assert fields_call["kind"] == "complaint"
    assert isinstance(fields_call["tenant"], TenantInfo)
    assert fields_call["tenant"].slug == "acme"
    assert [s.code for s in fields_call["tenant"].severities] == ["normal", "urgent", "critical"]
    for hook in INTAKE_HOOKS:
        [call] = recorder.called(hook)
        snapshot = call["case"]
        assert isinstance(snapshot, CaseSnapshot)
        assert str(snapshot.id) == case["id"]
        assert snapshot.number is None
        assert snapshot.extra == EXTRA
        assert snapshot.product["model"] == "K-200"
        assert snapshot.demands == ["refund", "apology"]
    [validate] = recorder.called("validate_intake")
    assert validate["settings"].api_key == "k-123"  # decrypted for the plugin
    assert validate["tenant_settings"] is validate["settings"]

    stored = {f["hook"]: f for f in await findings(client, tenant, case["id"])}
    assert sorted(stored) == sorted(INTAKE_HOOKS)
    assert all(f["status"] == "ok" and f["plugin"] == "recorder" for f in stored.values())
    assert all(f["version"] == "1.2.3" for f in stored.values())
    assert stored["validate_intake"]["result"] == [
        {"field": "extra.serial", "message": "serial looks odd", "level": "warning"}
    ]
    assert stored["classify_case"]["result"]["category"]["code"] == "logistics_delay"
    assert stored["check_entitlement"]["result"]["rule"] == "test.always"
    assert stored["suggest_resolution"]["result"][0]["amount"] == "19.90"
    assert stored["correlate_case"]["result"]["key"] == "product:K-200"
    assert stored["correlate_case"]["notes"] == {
        "linked_case_ids": [],
        "linked_case_numbers": [],
        "count": 1,
        "alert": False,
    }

    events = [
        e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_finding"
    ]
    assert sorted(e["data"]["hook"] for e in events) == sorted(INTAKE_HOOKS)
    assert await count(
        app_engine, tenant.id, AuditEntry, AuditEntry.action == "case.plugin_finding"
    ) == len(INTAKE_HOOKS)


async def test_assess_severity_raises_the_intake_severity_and_never_lowers_a_chosen_one(
    client: Client, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True, settings={"severity": "urgent"})
    raised = await create_case(client, tenant.headers, extra=EXTRA)
    assert raised["severity"] == "urgent"
    assessed = next(
        f for f in await findings(client, tenant, raised["id"]) if f["hook"] == "assess_severity"
    )
    assert assessed["notes"] == {"severity_raised": {"from": "normal", "to": "urgent"}}

    critical = await config_id(client, tenant, "severities", "critical")
    kept = await create_case(client, tenant.headers, extra=EXTRA, severity_id=critical)
    assert kept["severity"] == "critical"


async def test_an_unknown_severity_code_is_a_failed_finding(
    client: Client, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True, settings={"severity": "P1"})
    case = await create_case(client, tenant.headers, extra=EXTRA)
    assert case["severity"] == "normal"
    [assessed] = [
        f for f in await findings(client, tenant, case["id"]) if f["hook"] == "assess_severity"
    ]
    assert assessed["status"] == "failed"
    assert "P1" in assessed["error"]


async def test_extra_fields_are_validated_at_intake(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True)
    for extra, field in [
        ({k: v for k, v in EXTRA.items() if k != "serial"}, "extra.serial"),
        ({**EXTRA, "units": "two"}, "extra.units"),
        ({**EXTRA, "units": True}, "extra.units"),
        ({**EXTRA, "cause": "misuse"}, "extra.cause"),
        ({**EXTRA, "bought_on": "5 Jan"}, "extra.bought_on"),
    ]:
        response = await create_case(client, tenant.headers, expect=422, extra=extra)
        assert fields_of(response["error"]) == [field], response
        assert response["error"]["details"]["plugin"] == "recorder"
    assert await count(app_engine, tenant.id, Case) == 0


async def test_a_validate_intake_error_refuses_the_intake_and_writes_nothing(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True)
    response = await create_case(
        client, tenant.headers, expect=422, extra={**EXTRA, "serial": "REFUSE"}
    )
    assert fields_of(response["error"]) == ["extra.serial"]
    assert "blocked" in response["error"]["message"]
    assert await count(app_engine, tenant.id, Case) == 0
    assert await count(app_engine, tenant.id, CaseFinding) == 0
    # The number was not used up: the next case gets the first one.
    first = await create_case(client, tenant.headers, extra=EXTRA)
    assert first["number"].endswith("0001")


async def test_correlated_cases_are_linked_and_alert_the_supervisors_once(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    supervisor_id, _ = await make_user(client, tenant, "supervisor")
    await put_plugin(client, tenant, "recorder", enabled=True, settings={"threshold": 2})
    first = await create_case(client, tenant.headers, extra=EXTRA)
    second = await create_case(client, tenant.headers, extra=EXTRA)
    third = await create_case(client, tenant.headers, extra=EXTRA)

    notes = next(
        f for f in await findings(client, tenant, second["id"]) if f["hook"] == "correlate_case"
    )["notes"]
    assert notes["linked_case_ids"] == [first["id"]]
    assert notes["count"] == 2
    assert notes["alert"] is True
    alerts = [
        e for e in await timeline(client, tenant, second["id"]) if e["type"] == "correlation_alert"
    ]
    assert len(alerts) == 1
    assert alerts[0]["data"]["case_numbers"] == [first["number"], second["number"]]
    # Once per key and window: the third case is linked but raises no second alert.
    assert not [
        e for e in await timeline(client, tenant, third["id"]) if e["type"] == "correlation_alert"
    ]
    inbox = await count(
        app_engine,
        tenant.id,
        Notification,
        Notification.event == "correlation_alert",
        Notification.channel == "inbox",
    )
    assert inbox == 1
    assert (
        await count(
            app_engine,
            tenant.id,
            Notification,
            Notification.event == "correlation_alert",
            Notification.recipient_user_id == supervisor_id,
            Notification.channel == "inbox",
        )
        == 1
    )


async def test_on_case_event_runs_in_a_worker_and_its_actions_are_carried_out(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(
        client, tenant, "recorder", enabled=True, settings={"notify_to": tenant.admin_email}
    )
    case = await create_case(client, tenant.headers, extra=EXTRA)
    response = await client.post(
        f"/api/v1/cases/{case['id']}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    assert response.status_code == 200, response.text
    assert not recorder.called("on_case_event")  # never inside the request
    assert await run_jobs(app_engine, tenant.id, "run_case_event_plugins") == 2

    registered, verified = sorted(recorder.called("on_case_event"), key=lambda c: c["event"].at)
    assert registered["event"].type == "registered"
    assert verified["event"].type == "verify"
    assert verified["event"].case.number == case["number"]
    assert (verified["event"].from_status, verified["event"].to_status) == (
        "registered",
        "verified",
    )
    assert verified["event"].data["valid"] is True
    events = await timeline(client, tenant, case["id"])
    assert {e["data"]["label"] for e in events if e["type"] == "plugin_flag"} == {
        "saw registered",
        "saw verify",
    }
    done = [f for f in await findings(client, tenant, case["id"]) if f["hook"] == "on_case_event"]
    assert [f["status"] for f in done] == ["ok", "ok"]
    assert [a["type"] for a in done[-1]["notes"]["actions"]] == ["flag", "notify_email"]
    assert (
        await count(
            app_engine,
            tenant.id,
            Notification,
            Notification.event == "plugin_notice",
            Notification.recipient_user_id == tenant.admin_id,
            Notification.channel == "inbox",
        )
        == 2
    )
    # A redelivered job does nothing twice.
    assert await run_jobs(app_engine, tenant.id, "run_case_event_plugins") == 2
    assert len(recorder.called("on_case_event")) == 2


async def test_mail_to_an_outside_address_becomes_an_email_job(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(
        client, tenant, "recorder", enabled=True, settings={"notify_to": "sec@outside.example"}
    )
    case = await create_case(client, tenant.headers, extra=EXTRA)
    await client.post(
        f"/api/v1/cases/{case['id']}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    await run_jobs(app_engine, tenant.id, "run_case_event_plugins")
    assert (
        await count(
            app_engine, tenant.id, OutboxMessage, OutboxMessage.actor_name == "send_plugin_email"
        )
        == 2
    )  # registered and verify
    await run_jobs(app_engine, tenant.id, "send_plugin_email")
    mails = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_email"]
    assert {m["data"]["to"] for m in mails} == {"sec@outside.example"}
    assert {m["data"]["status"] for m in mails} == {"skipped"}  # no SMTP_URL in the tests


async def test_no_worker_job_when_no_enabled_plugin_listens(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    case = await create_case(client, tenant.headers)
    await client.post(
        f"/api/v1/cases/{case['id']}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    assert (
        await count(
            app_engine,
            tenant.id,
            OutboxMessage,
            OutboxMessage.actor_name == "run_case_event_plugins",
        )
        == 0
    )
    assert recorder.calls == []
    assert uuid.UUID(case["id"])


async def test_mail_to_an_outside_address_is_sent_through_the_mail_server(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    recorder: Recorder,
    settings: Settings,
) -> None:
    await put_plugin(
        client, tenant, "recorder", enabled=True, settings={"notify_to": "sec@outside.example"}
    )
    case = await create_case(client, tenant.headers, extra=EXTRA)
    await run_jobs(app_engine, tenant.id, "run_case_event_plugins")
    with smtp_server() as (url, mailbox):
        runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
        await run_jobs(app_engine, tenant.id, "send_plugin_email")
    [(recipients, message)] = mailbox.messages
    assert recipients == ["sec@outside.example"]
    assert message["Subject"] == "Heads up"
    [mail] = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_email"]
    assert (mail["data"]["status"], mail["data"]["plugin"]) == ("sent", "recorder")
