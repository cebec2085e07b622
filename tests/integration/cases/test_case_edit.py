"""One case: GET with its ETag, PATCH with If-Match (428, 409 stale, 409 archived), PII masks."""

from __future__ import annotations

import json
from typing import Any

from case_support import config_id, create_case, make_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of


async def _set_status(
    owner_engine: AsyncEngine, tenant: TenantHandle, case_id: str, status: str
) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(
            text("UPDATE cases SET status = :s WHERE id = :id"), {"s": status, "id": case_id}
        )


async def _patch(
    client: Client,
    headers: dict[str, str],
    case_id: str,
    body: dict[str, Any],
    if_match: str | None,
) -> Any:
    extra = {"If-Match": if_match} if if_match is not None else {}
    return await client.patch(f"/api/v1/cases/{case_id}", headers={**headers, **extra}, json=body)


async def test_get_shows_the_case_with_its_version_as_etag(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    response = await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    assert response.json() == case


async def test_unknown_case_is_404(client: Client, tenant: TenantHandle) -> None:
    response = await client.get(
        "/api/v1/cases/00000000-0000-0000-0000-000000000001", headers=tenant.headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_phone_is_masked_without_pii_and_plain_with_it_and_the_read_audited(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    _, agent = await make_user(client, tenant, "agent")
    _, privileged = await make_user(client, tenant, "supervisor", pii=True)
    masked = (await client.get(f"/api/v1/cases/{case['id']}", headers=agent)).json()
    assert masked["customer"]["phone"] == "138****5678"
    assert masked["customer"]["name"] == "王**"
    assert "13812345678" not in str(masked)
    plain = (await client.get(f"/api/v1/cases/{case['id']}", headers=privileged)).json()
    assert plain["customer"]["phone"] == "13812345678"
    assert plain["customer"]["masked"] is False
    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert any(e["action"] == "customer.pii_read" for e in audit)


async def test_patch_needs_if_match(client: Client, tenant: TenantHandle) -> None:
    case = await create_case(client, tenant.headers)
    response = await _patch(client, tenant.headers, case["id"], {"title": "新标题"}, None)
    assert response.status_code == 428, response.text
    assert response.json()["error"]["code"] == "precondition_required"
    response = await _patch(client, tenant.headers, case["id"], {"title": "新标题"}, "abc")
    assert response.status_code == 400, response.text


async def test_patch_edits_bumps_the_version_and_records_the_change(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    category = await config_id(client, tenant, "categories", "product_quality")
    severity = await config_id(client, tenant, "severities", "critical")
    body = {
        "title": "水壶底座漏电",
        "category_id": category,
        "severity_id": severity,
        "product": {"batch": "B-77"},
        "demands": ["exchange"],
        "extra": {"source": "hotline"},
        "problem_place": "厨房",
    }
    response = await _patch(client, tenant.headers, case["id"], body, '"1"')
    assert response.status_code == 200, response.text
    edited = response.json()
    assert response.headers["etag"] == '"2"'
    assert edited["version"] == 2
    assert edited["title"] == "水壶底座漏电"
    assert (edited["category"], edited["severity"]) == ("product_quality", "critical")
    assert edited["severity_rank"] == 3
    assert edited["product"] == {**case["product"], "batch": "B-77"}
    assert edited["demands"] == ["exchange"]
    assert edited["extra"] == {"source": "hotline"}

    timeline = (
        await client.get(f"/api/v1/cases/{case['id']}/timeline", headers=tenant.headers)
    ).json()["items"]
    assert [e["type"] for e in timeline] == ["registered", "edited"]
    assert timeline[1]["visibility"] == "internal"
    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    update = next(e for e in audit if e["action"] == "case.update")
    assert update["entity_id"] == case["id"]
    # free text is kept as a digest only: the audit trail outlives any erasure
    assert set(update["before"]["title"]) == {"sha256", "chars"}
    assert update["after"]["title"] != update["before"]["title"]
    assert "水壶底座漏电" not in json.dumps(update, ensure_ascii=False)
    assert update["after"]["severity_code"] == "critical"
    assert "description" not in update["after"]  # unchanged fields are not in the diff

    # the new title is searchable, the old one no longer
    found = await client.get("/api/v1/cases", headers=tenant.headers, params={"q": "漏电"})
    assert [c["id"] for c in found.json()["items"]] == [case["id"]]
    gone = await client.get("/api/v1/cases", headers=tenant.headers, params={"q": "快递延误"})
    assert gone.json()["items"] == []


async def test_a_stale_version_is_a_conflict_naming_the_current_one(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    first = await _patch(client, tenant.headers, case["id"], {"title": "第一次修改"}, "1")
    assert first.status_code == 200, first.text
    stale = await _patch(client, tenant.headers, case["id"], {"title": "第二次修改"}, "1")
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert error["code"] == "version_conflict"
    assert error["details"]["current_version"] == 2
    current = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert current["title"] == "第一次修改"


async def test_an_archived_case_is_frozen(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    case = await create_case(client, tenant.headers)
    await _set_status(owner_engine, tenant, case["id"], "archived")
    response = await _patch(client, tenant.headers, case["id"], {"title": "改不了"}, "1")
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "case_archived"


async def test_patch_refuses_bad_fields_and_roles(client: Client, tenant: TenantHandle) -> None:
    case = await create_case(client, tenant.headers)
    for body, field in (
        ({"number": "X-1"}, "number"),
        ({"status": "closed"}, "status"),
        ({"severity_id": "00000000-0000-0000-0000-000000000000"}, "severity_id"),
        ({"demands": ["moon"]}, "demands"),
    ):
        response = await _patch(client, tenant.headers, case["id"], body, "1")
        assert 400 <= response.status_code < 500, response.text
        assert fields_of(response.json())[0] == field, response.text
    _, viewer = await make_user(client, tenant, "viewer")
    response = await _patch(client, viewer, case["id"], {"title": "x"}, "1")
    assert response.status_code == 403
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert after["version"] == 1


async def test_a_new_category_can_make_a_case_a_repeat(
    client: Client, tenant: TenantHandle
) -> None:
    logistics = await config_id(client, tenant, "categories", "logistics_delay")
    customer = {"external_ref": "CRM-9"}
    first = await create_case(client, tenant.headers, customer=customer, category_id=logistics)
    second = await create_case(client, tenant.headers, customer=customer)
    assert second["is_repeat"] is False
    response = await _patch(client, tenant.headers, second["id"], {"category_id": logistics}, "1")
    assert response.json()["is_repeat"] is True
    assert response.json()["repeat_of"] == [first["id"]]
