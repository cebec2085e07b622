"""A failing plugin never loses a case: exceptions, garbage and overruns are failed
findings, the other plugins still run, and a plugin that keeps failing is switched off
for that tenant with its admins told. A plugin is only ever called for the tenants that
enabled it."""

from __future__ import annotations

from cases.case_support import create_case
from plugin_support import Faulty, Recorder, count, findings, put_plugin, timeline
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.notify.models import Notification
from closeloop.plugins.manager import registered_plugins
from support import Client, TenantHandle

EXTRA = {"serial": "SN-1"}


async def test_raising_garbage_and_slow_plugins_leave_the_case_and_the_other_plugins_alone(
    client: Client, tenant: TenantHandle, recorder: Recorder
) -> None:
    faulty = [Faulty("raise"), Faulty("garbage"), Faulty("sleep")]
    with registered_plugins(*faulty):
        await put_plugin(client, tenant, "recorder", enabled=True)
        for plugin in faulty:
            await put_plugin(client, tenant, plugin.NAME, enabled=True, time_budget_ms=100)
        case = await create_case(client, tenant.headers, extra=EXTRA)
        listed = {
            p["name"]: p
            for p in (await client.get("/api/v1/plugins", headers=tenant.headers)).json()
        }

    stored = await findings(client, tenant, case["id"])
    failed = {f["plugin"]: f for f in stored if f["status"] == "failed"}
    assert sorted(failed) == ["faulty_garbage", "faulty_raise", "faulty_sleep"]
    assert failed["faulty_raise"]["error"] == "error: RuntimeError: the classifier broke"
    assert failed["faulty_garbage"]["error"].startswith("invalid_result: classify_case returned")
    assert failed["faulty_sleep"]["error"].startswith("timeout: classify_case took longer than")
    assert all(f["hook"] == "classify_case" and f["result"] is None for f in failed.values())
    # The recorder ran every intake hook all the same.
    assert len([f for f in stored if f["plugin"] == "recorder" and f["status"] == "ok"]) == 6
    events = await timeline(client, tenant, case["id"])
    assert (
        sum(1 for e in events if e["type"] == "plugin_finding" and e["data"]["status"] == "failed")
        == 3
    )

    assert listed["faulty_raise"]["consecutive_failures"] == 1
    assert listed["faulty_raise"]["last_error"] == "error: RuntimeError: the classifier broke"
    assert listed["recorder"]["consecutive_failures"] == 0


async def test_a_plugin_that_keeps_failing_is_switched_off_and_the_admins_told(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    plugin = Faulty("raise")
    with registered_plugins(plugin):
        await put_plugin(client, tenant, plugin.NAME, enabled=True, failure_threshold=3)
        for _ in range(3):
            await create_case(client, tenant.headers)
        assert plugin.calls == 3
        state = (await client.get(f"/api/v1/plugins/{plugin.NAME}", headers=tenant.headers)).json()
        assert state["enabled"] is False
        assert state["consecutive_failures"] == 3
        assert "3 consecutive failed calls" in state["disabled_reason"]
        assert state["disabled_at"] is not None

        # Off means never called again.
        await create_case(client, tenant.headers)
        assert plugin.calls == 3

        assert (
            await count(
                app_engine,
                tenant.id,
                Notification,
                Notification.event == "plugin_disabled",
                Notification.recipient_user_id == tenant.admin_id,
                Notification.channel == "inbox",
            )
            == 1
        )
        assert (
            await count(
                app_engine, tenant.id, AuditEntry, AuditEntry.action == "plugin.auto_disable"
            )
            == 1
        )

        # Enabling again resets the count.
        state = await put_plugin(client, tenant, plugin.NAME, enabled=True)
        assert (state["enabled"], state["consecutive_failures"], state["disabled_reason"]) == (
            True,
            0,
            None,
        )


async def test_a_good_call_resets_the_failure_count(client: Client, tenant: TenantHandle) -> None:
    plugin = Faulty("raise")
    with registered_plugins(plugin):
        await put_plugin(client, tenant, plugin.NAME, enabled=True, failure_threshold=3)
        await create_case(client, tenant.headers)
        await create_case(client, tenant.headers)
        plugin.mode = "fine"  # answers None
        await create_case(client, tenant.headers)
        state = (await client.get(f"/api/v1/plugins/{plugin.NAME}", headers=tenant.headers)).json()
        assert (state["enabled"], state["consecutive_failures"]) == (True, 0)


async def test_a_plugin_not_enabled_for_a_tenant_is_never_called_for_it(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, recorder: Recorder
) -> None:
    await create_case(client, tenant.headers)
    assert recorder.calls == []

    await put_plugin(client, tenant, "recorder", enabled=True)
    a_case = await create_case(client, tenant.headers, extra=EXTRA)
    calls_for_a = len(recorder.calls)
    assert calls_for_a > 0
    assert {c["tenant"].slug for _, c in recorder.calls if "tenant" in c} == {"acme"}

    b_case = await create_case(client, other_tenant.headers)
    assert len(recorder.calls) == calls_for_a
    assert await findings(client, other_tenant, b_case["id"]) == []
    listed = {
        p["name"]: p
        for p in (await client.get("/api/v1/plugins", headers=other_tenant.headers)).json()
    }
    assert listed["recorder"]["enabled"] is False
    assert listed["recorder"]["configured"] is False
    # And tenant B cannot read tenant A's findings.
    response = await client.get(
        f"/api/v1/cases/{a_case['id']}/findings", headers=other_tenant.headers
    )
    assert response.status_code == 404


async def test_tenant_b_changing_a_plugin_changes_nothing_for_tenant_a(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, recorder: Recorder
) -> None:
    await put_plugin(client, tenant, "recorder", enabled=True, settings={"threshold": 7})
    await put_plugin(client, other_tenant, "recorder", enabled=False, settings={"threshold": 9})
    a_state = (await client.get("/api/v1/plugins/recorder", headers=tenant.headers)).json()
    assert (a_state["enabled"], a_state["settings"]["threshold"]) == (True, 7)
