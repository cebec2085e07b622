"""The console's two ways out: the queue's Export button (the queue's filters kept) and
the case page's record sheet button, each answering what the API answers."""

from __future__ import annotations

import html
import io
import re

from openpyxl import load_workbook
from pypdf import PdfReader

from integration.cases.case_support import create_case
from integration.console.console_support import console_sign_in, make_staff
from support import Client, TenantHandle


async def test_queue_export_keeps_the_queue_filters(client: Client, tenant: TenantHandle) -> None:
    web = await create_case(client, tenant.headers, channel="web", title="网页投诉")
    await create_case(client, tenant.headers, channel="phone", title="电话投诉")
    await console_sign_in(client, tenant, tenant.admin_email)
    page = await client.get("/console/queues/unassigned", params={"channel": "web"})
    assert page.status_code == 200, page.text
    found = re.search(r'href="([^"]*/export[^"]*)"', page.text)
    assert found, "no export link on the queue page"
    link = html.unescape(found.group(1))
    assert "channel=web" in link
    assert "format=xlsx" in link

    response = await client.get(link)
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)["cases"]
    numbers = [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert numbers == [web["number"]]


async def test_queue_has_no_export_for_a_handler(client: Client, tenant: TenantHandle) -> None:
    handler = await make_staff(client, tenant, "handler")
    await console_sign_in(client, tenant, handler.email)
    page = await client.get("/console/queues/mine")
    assert page.status_code == 200, page.text
    assert "/export" not in page.text
    assert (await client.get("/console/queues/mine/export")).status_code == 403


async def test_case_page_links_its_record_sheet(client: Client, tenant: TenantHandle) -> None:
    case = await create_case(client, tenant.headers, title="电水壶漏水")
    viewer = await make_staff(client, tenant, "viewer")
    await console_sign_in(client, tenant, viewer.email)
    page = await client.get(f"/console/cases/{case['id']}")
    assert page.status_code == 200, page.text
    link = f"/console/cases/{case['id']}/record.pdf"
    assert f'href="{link}"' in page.text
    response = await client.get(link)
    assert response.status_code == 200, response.text
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert case["number"] in text
    assert "电水壶漏水" in text
    assert "13812345678" not in text
