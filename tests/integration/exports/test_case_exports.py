"""Case exports: CSV with a byte-order mark, XLSX past the old 50,000 cap, customer data
masked unless a `pii` holder asks for it (then audited), and who may export what."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from integration.cases.case_support import create_case, make_user
from integration.exports.export_support import SCOPE, audit_actions, copy_case
from support import Client, TenantHandle

OLD_CAP = 50_000  # the export refused more than this many cases before it streamed


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


async def test_csv_starts_with_a_byte_order_mark_and_keeps_chinese_text(
    client: Client, tenant: TenantHandle
) -> None:
    title = "快递延误一周，客服不回复"
    case = await create_case(
        client, tenant.headers, title=title, customer={"nickname": "阿强", "phone": "13900001111"}
    )
    response = await client.get("/api/v1/cases/export", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].replace(" ", "") == "text/csv;charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
    rows = _csv_rows(response.content.removeprefix(b"\xef\xbb\xbf"))
    assert [(r["number"], r["title"], r["customer_nickname"]) for r in rows] == [
        (case["number"], title, "阿强")
    ]


async def test_xlsx_holds_every_case_past_the_old_cap(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    case = await create_case(client, tenant.headers, title="电水壶漏水")
    await copy_case(owner_engine, tenant.id, case["id"], OLD_CAP)
    async with owner_engine.begin() as conn:
        await conn.execute(SCOPE, {"t": str(tenant.id)})
        numbers = set((await conn.execute(text("SELECT number FROM cases"))).scalars())
    assert len(numbers) == OLD_CAP + 1

    response = await client.get(
        "/api/v1/cases/export", headers=tenant.headers, params={"format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    header, *rows = book["cases"].iter_rows(values_only=True)
    assert header[:2] == ("number", "kind")
    assert {row[0] for row in rows} == numbers
    assert len(rows) == len(numbers)
    assert {row[5] for row in rows} == {"电水壶漏水"}


async def test_customer_data_is_masked_unless_a_pii_holder_asks_and_that_is_audited(
    client: Client, tenant: TenantHandle
) -> None:
    _, agent = await make_user(client, tenant, "agent")  # no pii: its intake is not audited
    await create_case(
        client, agent, customer={"nickname": "阿强", "name": "张三", "phone": "13900001111"}
    )
    _, privileged = await make_user(client, tenant, "supervisor", pii=True)
    _, viewer = await make_user(client, tenant, "viewer")

    masked = await client.get("/api/v1/cases/export", headers=privileged)
    assert masked.status_code == 200, masked.text
    [row] = _csv_rows(masked.content.removeprefix(b"\xef\xbb\xbf"))
    assert (row["customer_name"], row["customer_phone"]) == ("张*", "139****1111")
    assert "13900001111" not in masked.text
    assert not [e for e in await audit_actions(client, tenant) if e["action"] == "case.export_pii"]

    refused = await client.get("/api/v1/cases/export", headers=viewer, params={"pii": "true"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_required"
    assert not [e for e in await audit_actions(client, tenant) if e["action"] == "case.export_pii"]

    shown = await client.get(
        "/api/v1/cases/export",
        headers=privileged,
        params={"pii": "true", "format": "xlsx", "channel": "phone"},
    )
    assert shown.status_code == 200, shown.text
    sheet = load_workbook(io.BytesIO(shown.content), read_only=True)["cases"]
    header, *rows = sheet.iter_rows(values_only=True)
    [plain] = [dict(zip(header, r, strict=True)) for r in rows]
    assert (plain["customer_name"], plain["customer_phone"]) == ("张三", "13900001111")
    [entry] = [e for e in await audit_actions(client, tenant) if e["action"] == "case.export_pii"]
    assert entry["after"]["format"] == "xlsx"
    assert entry["after"]["filters"] == {"channel": "phone"}


async def test_exports_refuse_other_roles_and_show_no_other_tenant_case(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    ours = await create_case(client, tenant.headers, title="本租户的投诉")
    theirs = await create_case(client, other_tenant.headers, title="别家的投诉")
    _, handler = await make_user(client, tenant, "handler")
    assert (await client.get("/api/v1/cases/export", headers=handler)).status_code == 403

    for fmt in ("csv", "xlsx"):
        response = await client.get(
            "/api/v1/cases/export", headers=other_tenant.headers, params={"format": fmt}
        )
        assert response.status_code == 200, response.text
        if fmt == "csv":
            assert ours["title"] not in response.content.decode("utf-8-sig")
            numbers = [r["number"] for r in _csv_rows(response.content[3:])]
        else:
            sheet = load_workbook(io.BytesIO(response.content), read_only=True)["cases"]
            numbers = [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]]
        assert numbers == [theirs["number"]]
