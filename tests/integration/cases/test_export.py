"""Case exports: the list's filters, CSV and Excel, customer data masked unless asked."""

from __future__ import annotations

import csv
import io

from case_support import create_case, make_user
from openpyxl import load_workbook

from support import Client, TenantHandle, fields_of


async def test_export_masks_customer_data_even_for_pii_holders(
    client: Client, tenant: TenantHandle
) -> None:
    # Registered by an agent: the tenant's first admin has `pii`, so its intake answers
    # would be unmasked reads, audited.
    _, agent = await make_user(client, tenant, "agent")
    await create_case(
        client,
        agent,
        customer={"nickname": "阿强", "name": "张三", "phone": "13900001111"},
    )
    await create_case(client, agent, title='=HYPERLINK("http://evil")', kind="service_request")
    _, privileged = await make_user(client, tenant, "supervisor", pii=True)

    response = await client.get(
        "/api/v1/cases/export", headers=privileged, params={"format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    # one charset: the framework adds it to text types, the export must not add another
    assert response.headers["content-type"].replace(" ", "") == "text/csv;charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    by_kind = {row["kind"]: row for row in rows}
    assert by_kind["complaint"]["customer_phone"] == "139****1111"
    assert by_kind["complaint"]["customer_name"] == "张*"
    assert "13900001111" not in response.text
    # a title a spreadsheet would run as a formula is quoted
    assert by_kind["service_request"]["title"].startswith("'=")

    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert not [e for e in audit if e["action"] == "customer.pii_read"]


async def test_export_follows_the_list_filters_and_speaks_excel(
    client: Client, tenant: TenantHandle
) -> None:
    await create_case(client, tenant.headers, channel="phone")
    await create_case(
        client, tenant.headers, channel="web", customer={"nickname": "小李", "phone": "13700002222"}
    )
    response = await client.get(
        "/api/v1/cases/export", headers=tenant.headers, params={"format": "xlsx", "channel": "web"}
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert (row["channel"], row["customer_phone"]) == ("web", "137****2222")


async def test_export_refuses_bad_input_and_unprivileged_roles(
    client: Client, tenant: TenantHandle
) -> None:
    bad = await client.get("/api/v1/cases/export", headers=tenant.headers, params={"format": "pdf"})
    assert bad.status_code == 400
    assert "format" in bad.text
    bad_status = await client.get(
        "/api/v1/cases/export", headers=tenant.headers, params={"status": "nope"}
    )
    assert bad_status.status_code == 400
    assert fields_of(bad_status.json()["error"]) == ["status"]
    _, handler = await make_user(client, tenant, "handler")
    assert (await client.get("/api/v1/cases/export", headers=handler)).status_code == 403


async def test_one_case_names_the_actions_the_caller_may_take(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    assert case["allowed_actions"] == ["verify", "invalidate", "request_info", "annotate"]
    _, viewer = await make_user(client, tenant, "viewer")
    shown = await client.get(f"/api/v1/cases/{case['id']}", headers=viewer)
    assert shown.json()["allowed_actions"] == []
