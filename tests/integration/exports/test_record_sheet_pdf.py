"""The record sheet PDF: the practice's form for one case, its text in the tenant's
language, private data masked unless a `pii` holder asks (audited), 404 across tenants."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from integration.cases.case_support import create_case
from integration.cases.lifecycle_support import action_url, make_department
from integration.exports.export_support import audit_actions
from support import Client, TenantHandle, bearer, login, make_staff

PHONE = "13812345678"


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def _act(client: Client, headers: dict[str, str], case_id: str, action: str,
               body: dict[str, Any]) -> None:  # fmt: skip
    response = await client.post(action_url(case_id, action), headers=headers, json=body)
    assert response.status_code == 200, (action, response.text)


async def _pii_reads(client: Client, tenant: TenantHandle) -> int:
    audit = await audit_actions(client, tenant)
    return len([e for e in audit if e["action"] == "customer.pii_read"])


async def _handled_case(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> tuple[dict[str, Any], str]:
    """A case verified, assigned, worked and resolved; its handler's display name."""
    handler_id, email = await make_staff(client, tenant, "handler", display_name="李晓明")
    handler = bearer(await login(client, tenant.slug, email))
    department = await make_department(owner_engine, tenant.id, "logistics")
    case = await create_case(
        client,
        tenant.headers,
        title="快递延误一周",
        customer={"nickname": "小王", "name": "王小明", "phone": PHONE},
    )
    await _act(
        client, tenant.headers, case["id"], "verify", {"valid": True, "note": "订单记录属实"}
    )
    await _act(client, tenant.headers, case["id"], "assign",
               {"lead_department_id": str(department), "handler_id": str(handler_id),
                "note": "联系物流方跟踪包裹"})  # fmt: skip
    await _act(client, handler, case["id"], "start", {})
    await _act(client, handler, case["id"], "progress", {"note": "已联系物流方,今日18点前更新"})
    await _act(client, handler, case["id"], "resolve",
               {"root_cause": "承运商延误", "responsible_party": "third_party",
                "third_party": "顺丰速运", "solution_type": "coupon",
                "result": "补偿20元优惠券"})  # fmt: skip
    return case, "李晓明"


async def test_record_sheet_shows_the_case_in_chinese_without_private_data(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    case, handler_name = await _handled_case(client, tenant, owner_engine)
    reads = await _pii_reads(client, tenant)  # the admin's intake answer showed it
    response = await client.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert case["number"] in response.headers["content-disposition"]
    text = _text(response.content)
    assert case["number"] in text
    for words in ("客户投诉处理与回访记录表", "投诉编号", "快递延误一周", "承运商延误",
                  "补偿20元优惠券", "订单记录属实", "已联系物流方"):  # fmt: skip
        assert words in text, words
    assert PHONE not in text  # the admin holds pii, but did not ask
    assert "138****5678" in text
    assert handler_name not in text
    assert "李**" in text
    assert await _pii_reads(client, tenant) == reads


async def test_private_data_only_for_a_pii_holder_who_asks_and_audited(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    case, handler_name = await _handled_case(client, tenant, owner_engine)
    _, viewer_email = await make_staff(client, tenant, "viewer")
    viewer = bearer(await login(client, tenant.slug, viewer_email))
    path = f"/api/v1/cases/{case['id']}/record.pdf"

    refused = await client.get(path, headers=viewer, params={"pii": "true"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_required"
    seen = await client.get(path, headers=viewer)
    assert seen.status_code == 200
    assert PHONE not in _text(seen.content)

    before = await _pii_reads(client, tenant)
    shown = await client.get(path, headers=tenant.headers, params={"pii": "true"})
    assert shown.status_code == 200, shown.text
    text = _text(shown.content)
    assert PHONE in text
    assert "王小明" in text
    assert handler_name in text
    assert await _pii_reads(client, tenant) == before + 1
    audit = await audit_actions(client, tenant)
    [latest, *_] = [e for e in audit if e["action"] == "customer.pii_read"]
    assert latest["actor"] == f"user:{tenant.admin_id}"


async def test_record_sheet_speaks_english_for_an_english_tenant_and_hides_other_tenants(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    ours = await create_case(client, tenant.headers)
    answer = await client.get(
        f"/api/v1/cases/{ours['id']}/record.pdf", headers=other_tenant.headers
    )
    assert answer.status_code == 404
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE tenants SET locale = 'en' WHERE id = :id"), {"id": other_tenant.id}
        )
    theirs = await create_case(client, other_tenant.headers, title="Parcel late by a week")
    response = await client.get(
        f"/api/v1/cases/{theirs['id']}/record.pdf", headers=other_tenant.headers
    )
    assert response.status_code == 200, response.text
    text_ = _text(response.content)
    assert theirs["number"] in text_
    assert "Parcel late by a week" in text_
    assert "Complaint handling and follow-up record" in text_
    assert "投诉编号" not in text_
