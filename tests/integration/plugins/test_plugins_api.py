"""`/api/v1/plugins`: the installed plugins with their settings schema and this tenant's
setup; admins enable, disable and configure; settings are validated against the plugin's
`Settings` (422 naming the field); secrets are write-only and stored encrypted."""

from __future__ import annotations

from cases.case_support import create_case, make_user
from plugin_support import Recorder, count, put_plugin
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from support import Client, TenantHandle, fields_of


async def test_the_list_shows_every_installed_plugin_with_its_schema(
    client: Client, tenant: TenantHandle, recorder: Recorder
) -> None:
    _, agent = await make_user(client, tenant, "agent")
    response = await client.get("/api/v1/plugins", headers=agent)
    assert response.status_code == 200, response.text
    listed = {p["name"]: p for p in response.json()}
    assert {"intake_checks", "recorder"} <= set(listed)
    mine = listed["recorder"]
    assert (mine["version"], mine["description"], mine["builtin"]) == (
        "1.2.3",
        "Records every call (tests)",
        False,
    )
    assert (mine["enabled"], mine["configured"]) == (False, False)
    assert mine["secret_fields"] == ["api_key"]
    assert "on_case_event" in mine["hooks"]
    schema = mine["settings_schema"]
    props = schema["$defs"]["Settings"]["properties"]
    assert props["threshold"] == {"type": "integer", "default": 3}
    assert props["api_key"]["writeOnly"] is True
    assert mine["settings"] == {
        "severity": "urgent",
        "window_minutes": 60,
        "threshold": 3,
        "api_key": "",
        "notify_to": "",
    }
    builtin = listed["intake_checks"]
    assert (builtin["builtin"], builtin["enabled"]) == (True, True)


async def test_only_admins_change_a_plugin_and_unknown_names_are_404(
    client: Client, tenant: TenantHandle, recorder: Recorder
) -> None:
    _, supervisor = await make_user(client, tenant, "supervisor")
    response = await client.put(
        "/api/v1/plugins/recorder", headers=supervisor, json={"enabled": True}
    )
    assert response.status_code == 403
    response = await client.put(
        "/api/v1/plugins/nope", headers=tenant.headers, json={"enabled": True}
    )
    assert response.status_code == 404
    response = await client.get("/api/v1/plugins/nope", headers=tenant.headers)
    assert response.status_code == 404


async def test_settings_are_validated_against_the_plugins_settings_struct(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, recorder: Recorder
) -> None:
    for settings, field in [
        ({"threshold": "three"}, "settings.threshold"),
        ({"colour": "red"}, "settings.colour"),
    ]:
        response = await client.put(
            "/api/v1/plugins/recorder", headers=tenant.headers, json={"settings": settings}
        )
        assert response.status_code == 422, response.text
        assert fields_of(response.json()["error"]) == [field]
    response = await client.put(
        "/api/v1/plugins/recorder", headers=tenant.headers, json={"time_budget_ms": 5}
    )
    assert response.status_code == 400  # the body's own shape, as everywhere
    assert fields_of(response.json()["error"])[0] == "time_budget_ms"
    assert await count(app_engine, tenant.id, AuditEntry, AuditEntry.action == "plugin.update") == 0

    state = await put_plugin(client, tenant, "recorder", enabled=True, settings={"threshold": 4})
    assert state["settings"]["threshold"] == 4
    assert (state["enabled"], state["configured"]) == (True, True)
    assert await count(app_engine, tenant.id, AuditEntry, AuditEntry.action == "plugin.update") == 1


async def test_secrets_are_write_only_and_stored_encrypted(
    client: Client,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    tenant: TenantHandle,
    recorder: Recorder,
) -> None:
    state = await put_plugin(
        client,
        tenant,
        "recorder",
        enabled=True,
        settings={"api_key": "s3cret-value", "threshold": 5},
    )
    assert state["settings"]["api_key"] == "***"
    listed = (await client.get("/api/v1/plugins/recorder", headers=tenant.headers)).text
    assert "s3cret-value" not in listed
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        stored = (
            await conn.execute(text("SELECT settings::text FROM tenant_plugins"))
        ).scalar_one()
        trail = (
            await conn.execute(text("SELECT string_agg(after::text, ' ') FROM audit_entries"))
        ).scalar_one()
    assert "s3cret-value" not in stored
    assert "$encrypted" in stored
    assert "s3cret-value" not in trail
    assert "api_key" in trail  # as a changed secret's name

    # "***" (or leaving it out) keeps the secret; the plugin gets the real value.
    await put_plugin(client, tenant, "recorder", settings={"api_key": "***", "threshold": 6})
    await put_plugin(client, tenant, "recorder", settings={"threshold": 6})
    await create_case(client, tenant.headers, extra={"serial": "S"})
    [call] = recorder.called("assess_severity")
    assert call["settings"].api_key == "s3cret-value"
    assert call["settings"].threshold == 6

    # null clears it back to the default.
    state = await put_plugin(client, tenant, "recorder", settings={"api_key": None})
    assert state["settings"]["api_key"] == ""
