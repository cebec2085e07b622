"""The console's import page over HTTP: upload, preview with the detected encoding and
delimiter, the mapping form, a dry run that changes nothing, the real run in the
background (the `run_import` actor through the outbox) with its per-row report, undo;
admins only, other tenants' runs not found, a bad file refused with its reason."""

from __future__ import annotations

import io
import re
import tomllib
import uuid
from collections.abc import AsyncIterator

import dramatiq
import pytest
from console_support import console_sign_in, csrf_of, make_staff
from import_page_support import (
    GBK_FILE,
    RUN,
    admin_page,
    finished_run,
    mapping_form,
    table_count,
    upload_file,
)
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.identity.models import Role
from closeloop.imports import _sheet_size, open_table
from closeloop.imports.template import GUIDE_SHEET, SHEET
from closeloop.provision import Provisioned
from closeloop.settings import Settings
from support import Client, TenantHandle, import_worker, shared_data_dir


@pytest.fixture
async def broker(database: Provisioned, settings: Settings) -> AsyncIterator[dramatiq.Broker]:
    async with import_worker(database.app_url, settings) as running:
        yield running


async def test_upload_preview_map_dry_run_run_report_and_undo(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    broker: dramatiq.Broker,
) -> None:
    csrf = await admin_page(client, tenant)
    uploaded = await upload_file(client, csrf, "helpdesk.csv", GBK_FILE, "shipped:heimao")
    assert uploaded.status_code == 303, uploaded.text
    upload_url = uploaded.headers["location"]
    assert upload_url.startswith("/console/imports/uploads/")
    assert await table_count(owner_engine, tenant, "import_uploads") == 1  # kept before any run

    preview = await client.get(upload_url)
    assert preview.status_code == 200, preview.text
    assert "<span data-encoding>GB18030</span> (valid GB18030 (GBK))" in preview.text
    assert "<span data-delimiter>comma</span> (detected)" in preview.text
    assert "快递延误一周才到" in preview.text  # the first rows, Chinese intact
    # The form starts from the chosen mapping (heimao reads 投诉详情, not in this file).
    assert re.search(
        r'<option value="投诉详情" selected>投诉详情 \(not in this file\)', preview.text
    )
    # Read as UTF-8 on request: the GBK bytes show as what they are, undecodable.
    overridden = await client.get(upload_url + "&encoding=utf-8")
    assert overridden.status_code == 200
    assert "<span data-encoding>UTF-8</span> (chosen)" in overridden.text
    assert "\ufffd" in overridden.text
    assert "快递延误一周才到" not in overridden.text
    unknown = await client.get(upload_url + "&encoding=klingon")
    assert unknown.status_code == 422
    assert "unknown encoding &#39;klingon&#39;" in unknown.text
    semicolon = await client.get(upload_url + "&delimiter=semicolon")
    assert "<span data-delimiter>semicolon</span> (chosen)" in semicolon.text

    # A mapping with a line that is not `text = code`: the form again, nothing run.
    wrong = await client.post(
        upload_url, data=mapping_form(csrf, "dry_run", **{"m.channel": "电话 phone"})
    )
    assert wrong.status_code == 422
    assert "value map line 1" in wrong.text
    assert await table_count(owner_engine, tenant, "import_runs") == 0

    # Saved for the tenant, and the form comes back filled from it.
    saved = await client.post(upload_url, data=mapping_form(csrf, "save"), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert "mapping=saved%3A" in saved.headers["location"]
    again = await client.get(saved.headers["location"])
    assert re.search(r'name="f.category">.*?<option value="类型" selected>', again.text, re.S)
    assert await table_count(owner_engine, tenant, "import_mappings") == 1

    # The dry run: what would happen, per-row errors, and no case written.
    dry = await client.post(upload_url, data=mapping_form(csrf, "dry_run"), follow_redirects=False)
    assert dry.status_code == 303, dry.text
    dry_id = RUN.search(dry.headers["location"]).group(1)  # type: ignore[union-attr]
    page = await finished_run(client, dry_id, app_engine, broker)
    assert 'Would be created</dt><dd class="col-sm-9">2</dd>' in page
    assert 'Rows with errors</dt><dd class="col-sm-9">2</dd>' in page
    assert await table_count(owner_engine, tenant, "cases") == 0

    # For real: the same file and mapping, from the dry run's page.
    real = await client.post(
        f"/console/imports/runs/{dry_id}/confirm",
        data={"_csrf_token": csrf},
        follow_redirects=False,
    )
    assert real.status_code == 303, real.text
    run_id = RUN.search(real.headers["location"]).group(1)  # type: ignore[union-attr]
    page = await finished_run(client, run_id, app_engine, broker)
    assert 'value="100"' in page
    assert "100%" in page
    assert await table_count(owner_engine, tenant, "cases") == 2
    cell = r'<td class="text-nowrap">([^<]*)</td>'
    report = re.findall(rf"<tr>{cell}{cell}<td>([^<]*)</td>", page)
    assert ("3", "类型", "外星人入侵") in report
    assert ("4", "日期", "明天下午") in report
    csv = await client.get(f"/console/imports/runs/{run_id}/errors.csv")
    assert csv.status_code == 200
    assert csv.text.splitlines()[0] == "row,column,field,value,reason"
    assert {line.split(",")[0] for line in csv.text.splitlines()[1:]} == {"3", "4"}
    listed = await client.get("/console/imports/")
    assert set(RUN.findall(listed.text)) == {dry_id, run_id}
    assert f'action="/console/imports/runs/{run_id}/undo"' in listed.text  # undo from the list
    assert f'action="/console/imports/runs/{dry_id}/undo"' not in listed.text  # a dry run: none

    undone = await client.post(
        f"/console/imports/runs/{run_id}/undo", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert undone.status_code == 303, undone.text
    assert await table_count(owner_engine, tenant, "cases") == 0
    twice = await client.post(f"/console/imports/runs/{run_id}/undo", data={"_csrf_token": csrf})
    assert twice.status_code == 409
    assert "only a finished import can be undone" in twice.text


async def test_the_form_starts_from_the_shipped_mapping_of_the_file(
    client: Client, tenant: TenantHandle
) -> None:
    lines = (shared_data_dir() / "cfpb" / "cfpb_combined_full_schema.csv").read_bytes()
    head = b"\n".join(lines.splitlines()[:6]) + b"\n"
    csrf = await admin_page(client, tenant)
    uploaded = await upload_file(client, csrf, "cfpb.csv", head, "shipped:cfpb")
    page = await client.get(uploaded.headers["location"])
    assert page.status_code == 200
    selected = re.search(
        r'name="f.external_id">.*?<option value="([^"]+)" selected>', page.text, re.S
    )
    assert selected
    assert selected.group(1) == "Complaint ID"
    assert "Web = web" in page.text  # the channel's value map, editable
    assert '<dd class="col-sm-9" data-rows>5</dd>' in page.text
    # Each case field by its label, in the page's language, its mapping name under it.
    assert re.search(
        r'<label for="f.received_at">Received at</label>.*?data-mapping-name>received_at<',
        page.text,
        re.S,
    )
    assert 'aria-label="Value map of Channel"' in page.text
    assert "First response (<code>first_response</code>) ← Timely response?" in page.text
    assert "<span data-encoding>UTF-8</span>" in page.text
    # The outcome the file states (Timely response?), kept: its columns are in the file.
    assert '<input class="form-check-input" type="checkbox" name="s.first_response" checked>' in (
        page.text
    )


async def test_sla_history_the_file_lacks_columns_for_is_left_out_unless_ticked(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    csrf = await admin_page(client, tenant)
    uploaded = await upload_file(client, csrf, "helpdesk.csv", GBK_FILE, "shipped:cfpb")
    upload_url = uploaded.headers["location"] + "&mapping=shipped%3Acfpb"
    page = await client.get(upload_url)
    assert '<input class="form-check-input" type="checkbox" name="s.first_response">' in page.text
    assert "Timely response?, Date sent to company (not in this file)" in page.text
    form = mapping_form(csrf, "save", mapping="shipped:cfpb")
    ticked = await client.post(
        upload_url,
        data=form | {"action": "dry_run", "s.first_response": "on"},
        follow_redirects=False,
    )
    assert ticked.status_code == 422
    assert "the file has no column &#39;Timely response?&#39;" in ticked.text
    assert await table_count(owner_engine, tenant, "import_runs") == 0
    saved = await client.post(upload_url, data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        stored = await conn.scalar(text("SELECT text FROM import_mappings"))
    mapping = tomllib.loads(stored)
    assert "sla" not in mapping
    assert mapping["fields"]["channel"]["column"] == "渠道"


async def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_kept(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    csrf = await admin_page(client, tenant)
    for name, data, reason in (
        ("empty.csv", b"", "the file is empty"),
        ("book.xlsx", b"not a zip archive at all", "not a readable XLSX file"),
        ("scan.pdf", b"%PDF-1.4", "is not a CSV or XLSX file"),
    ):
        response = await upload_file(client, csrf, name, data)
        assert response.status_code == 422, (name, response.status_code)
        assert reason in response.text, name
    assert await table_count(owner_engine, tenant, "import_uploads") == 0


async def test_admins_only_and_other_tenants_runs_are_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    csrf = await admin_page(client, tenant)
    uploaded = await upload_file(client, csrf, "helpdesk.csv", GBK_FILE)
    upload_url = uploaded.headers["location"]
    dry = await client.post(upload_url, data=mapping_form(csrf, "dry_run"), follow_redirects=False)
    run_id = RUN.search(dry.headers["location"]).group(1)  # type: ignore[union-attr]

    supervisor = await make_staff(client, tenant, Role.SUPERVISOR)
    await console_sign_in(client, tenant, supervisor.email)
    for path in ("/console/imports/", upload_url, f"/console/imports/runs/{run_id}"):
        assert (await client.get(path)).status_code == 403, path

    await console_sign_in(client, other_tenant, other_tenant.admin_email)
    token = csrf_of((await client.get("/console/imports/")).text)
    for path in (
        upload_url,
        f"/console/imports/runs/{run_id}",
        f"/console/imports/runs/{run_id}/errors.csv",
        f"/console/imports/runs/{run_id}/progress",
        f"/console/imports/runs/{uuid.uuid4()}",
    ):
        assert (await client.get(path)).status_code == 404, path
    for path in (f"/console/imports/runs/{run_id}/undo", f"/console/imports/runs/{run_id}/confirm"):
        response = await client.post(path, data={"_csrf_token": token})
        assert response.status_code == 404, path
    # Without the CSRF token nothing is even read.
    assert (await client.post(upload_url, data=mapping_form("", "dry_run"))).status_code == 403


async def test_the_practice_form_template_downloads(client: Client, tenant: TenantHandle) -> None:
    await admin_page(client, tenant)
    response = await client.get("/console/imports/template.xlsx")
    assert response.status_code == 200
    assert response.content[:4] == b"PK\x03\x04"
    assert "attachment" in response.headers["content-disposition"]


async def test_an_xlsx_shows_its_sheets_and_another_can_be_chosen(
    client: Client, tenant: TenantHandle
) -> None:
    csrf = await admin_page(client, tenant)
    template = await client.get("/console/imports/template.xlsx")
    uploaded = await upload_file(client, csrf, "form.xlsx", template.content)
    assert uploaded.status_code == 303, uploaded.text
    page = await client.get(uploaded.headers["location"])
    assert page.status_code == 200, page.text
    assert f"<span data-sheet>{SHEET}</span>" in page.text
    # XLSX starts from the practice form's mapping: its columns are the template's.
    selected = re.search(r'name="f.number">.*?<option value="([^"]+)" selected>', page.text, re.S)
    assert selected
    assert selected.group(1) == "投诉编号"
    assert '<dd class="col-sm-9" data-rows>0</dd>' in page.text  # a form still empty
    guide = await client.get(f"{uploaded.headers['location']}?sheet={GUIDE_SHEET}")
    assert f"<span data-sheet>{GUIDE_SHEET}</span>" in guide.text
    with open_table(template.content, format="xlsx", sheet=GUIDE_SHEET) as table:
        guide_rows = sum(1 for _ in table.rows())
    assert guide_rows > 20
    assert f'<dd class="col-sm-9" data-rows>{guide_rows}</dd>' in guide.text  # its own rows
    missing = await client.get(f"{uploaded.headers['location']}?sheet=Sheet9")
    assert missing.status_code == 422
    assert "the workbook has no sheet &#39;Sheet9&#39;" in missing.text
    assert SHEET in missing.text  # its sheets are listed


async def test_a_large_workbook_shows_its_stated_range_as_its_rows(
    client: Client, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet larger than `SCAN_BYTES` is not scanned: its stated range (rows 2 to 7,
    two blank rows inside) is the total, shown as an upper bound."""
    monkeypatch.setattr(_sheet_size, "SCAN_BYTES", 0)
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "日期", "内容"])
    for n in range(6):
        sheet.append([None] * 3 if n in (1, 4) else [f"A-{n}", "2026-11-03", "漏水"])
    data = io.BytesIO()
    book.save(data)
    csrf = await admin_page(client, tenant)
    uploaded = await upload_file(client, csrf, "large.xlsx", data.getvalue())
    assert uploaded.status_code == 303, uploaded.text
    page = await client.get(uploaded.headers["location"])
    assert page.status_code == 200, page.text
    assert "data-rows>at most 6 (the range the sheet states)</dd>" in page.text
