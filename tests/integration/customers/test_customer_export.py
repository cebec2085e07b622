"""A customer's own data for an access request: their cases, the timeline entries meant
for them, satisfaction answers and follow-ups; PII in clear only with `pii`; audited;
admins and supervisors only; another tenant's customer is 404."""

from __future__ import annotations

from typing import Any

from support import PASSWORD, Client, TenantHandle, bearer, login

INTERNAL_NOTE = "内部备注:客户语气激动,先核实物流单号"


async def _case(client: Client, tenant: TenantHandle) -> dict[str, Any]:
    body = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": {"nickname": "小王", "name": "王小明", "phone": "13812345678"},
        "demands": ["refund"],
    }
    response = await client.post("/api/v1/cases", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    note = await client.post(
        f"/api/v1/cases/{case['id']}/actions/annotate",
        headers=tenant.headers,
        json={"note": INTERNAL_NOTE},
    )
    assert note.status_code == 200, note.text
    detail = await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)
    case["customer_id"] = detail.json()["customer"]["id"]
    return case


async def _user(client: Client, tenant: TenantHandle, role: str) -> dict[str, str]:
    email = f"{role}@{tenant.slug}.example.com"
    body = {"email": email, "display_name": role, "password": PASSWORD, "roles": [role]}
    response = await client.post("/api/v1/users/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    return bearer(await login(client, tenant.slug, email))


async def test_customer_export(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    case = await _case(client, tenant)
    await _case(client, tenant)  # the same customer (same phone): a second case
    url = f"/api/v1/customers/{case['customer_id']}/export"

    response = await client.get(url, headers=tenant.headers)  # the admin holds `pii`
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["customer"]["phone"] == "13812345678"
    assert export["customer"]["masked"] is False
    assert len(export["cases"]) == 2
    first = export["cases"][0]
    assert first["number"] == case["number"]
    assert first["demands"] == ["refund"]
    assert [e["type"] for e in first["timeline"]] == ["registered"]
    assert INTERNAL_NOTE not in response.text
    assert first["surveys"] == []
    assert first["followups"] == []

    supervisor = await _user(client, tenant, "supervisor")
    masked = (await client.get(url, headers=supervisor)).json()
    assert masked["customer"]["masked"] is True
    assert masked["customer"]["phone"] != "13812345678"
    assert "13812345678" not in str(masked["customer"])

    agent = await _user(client, tenant, "agent")
    assert (await client.get(url, headers=agent)).status_code == 403
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404

    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    exports = [e for e in audit if e["action"] == "customer.export"]
    assert len(exports) == 2
    assert any(e["action"] == "customer.pii_read" for e in audit)
