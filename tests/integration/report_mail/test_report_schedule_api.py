"""`/api/v1/report-schedules`: admins only, a cross-tenant id is 404, bad input is a 422
naming the field and changes nothing, every change is audited."""

from __future__ import annotations

import uuid
from typing import Any

from support import Client, TenantHandle, bearer, fields_of, login, make_staff

BASE = "/api/v1/report-schedules"


async def _schedule(client: Client, tenant: TenantHandle, **body: Any) -> dict[str, Any]:
    response = await client.post(
        BASE,
        headers=tenant.headers,
        json={"frequency": "weekly", "recipients": [str(tenant.admin_id)], **body},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_admin_sets_a_weekly_report_in_the_tenants_language(
    client: Client, tenant: TenantHandle
) -> None:
    viewer_id, _ = await make_staff(client, tenant, "viewer")
    created = await _schedule(client, tenant, recipients=[str(tenant.admin_id), str(viewer_id)])
    assert created["frequency"] == "weekly"
    assert created["locale"] == "zh-CN"  # the tenant's
    assert created["recipients"] == [str(tenant.admin_id), str(viewer_id)]
    assert created["last_period_from"] is None
    changed = await client.patch(
        f"{BASE}/{created['id']}", headers=tenant.headers, json={"locale": "en", "name": "Weekly"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["locale"], changed.json()["name"]) == ("en", "Weekly")
    listed = await client.get(BASE, headers=tenant.headers)
    assert [row["id"] for row in listed.json()] == [created["id"]]
    audit = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"entity_type": "report_schedule"}
    )
    actions = sorted(entry["action"] for entry in audit.json()["items"])
    assert actions == ["report_schedule.create", "report_schedule.update"]
    deleted = await client.delete(f"{BASE}/{created['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (await client.get(BASE, headers=tenant.headers)).json() == []


async def test_only_admins_manage_report_schedules(client: Client, tenant: TenantHandle) -> None:
    created = await _schedule(client, tenant)
    for role in ("supervisor", "viewer", "handler"):
        _, email = await make_staff(client, tenant, role)
        headers = bearer(await login(client, tenant.slug, email))
        assert (await client.get(BASE, headers=headers)).status_code == 403
        assert (await client.get(f"{BASE}/{created['id']}", headers=headers)).status_code == 403
        refused = await client.post(
            BASE,
            headers=headers,
            json={"frequency": "weekly", "recipients": [str(tenant.admin_id)]},
        )
        assert refused.status_code == 403
    assert (await client.get(BASE)).status_code == 401


async def test_another_tenants_schedule_is_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    created = await _schedule(client, tenant)
    path = f"{BASE}/{created['id']}"
    assert (await client.get(path, headers=other_tenant.headers)).status_code == 404
    patched = await client.patch(path, headers=other_tenant.headers, json={"active": False})
    assert patched.status_code == 404
    assert (await client.delete(path, headers=other_tenant.headers)).status_code == 404
    assert (await client.get(BASE, headers=other_tenant.headers)).json() == []
    # Nor may a schedule name another tenant's user as a recipient.
    refused = await client.post(
        BASE,
        headers=other_tenant.headers,
        json={"frequency": "weekly", "recipients": [str(tenant.admin_id)]},
    )
    assert refused.status_code == 422
    assert fields_of(refused.json()) == ["recipients[0]"]
    unchanged = await client.get(path, headers=tenant.headers)
    assert unchanged.json()["active"] is True


async def test_bad_input_is_refused_naming_the_field(client: Client, tenant: TenantHandle) -> None:
    handler_id, _ = await make_staff(client, tenant, "handler")
    admin = str(tenant.admin_id)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"frequency": "daily", "recipients": [admin]}, "frequency"),
        ({"frequency": "weekly", "recipients": [admin], "locale": "fr"}, "locale"),
        ({"frequency": "weekly", "recipients": [str(handler_id)]}, "recipients[0]"),
        ({"frequency": "weekly", "recipients": [admin, str(uuid.uuid4())]}, "recipients[1]"),
        ({"frequency": "weekly", "recipients": []}, "recipients"),
        ({"frequency": "weekly", "recipients": ["not-an-id"]}, "recipients"),
        ({"frequency": "weekly", "recipients": [admin], "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post(BASE, headers=tenant.headers, json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert field in response.text, (body, response.text)
    assert (await client.get(BASE, headers=tenant.headers)).json() == []
    created = await _schedule(client, tenant)
    refused = await client.patch(
        f"{BASE}/{created['id']}", headers=tenant.headers, json={"frequency": "hourly"}
    )
    assert refused.status_code == 422
    assert "frequency" in refused.text
    after = (await client.get(f"{BASE}/{created['id']}", headers=tenant.headers)).json()
    assert after["frequency"] == "weekly"
