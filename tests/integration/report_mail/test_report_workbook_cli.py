"""`closeloop report SLUG --period ... --format xlsx --out FILE`: the workbook of the
summary the API answers, in the language asked for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from closeloop.settings import Settings
from support import Client, TenantHandle, run_cli


async def test_the_report_command_writes_the_workbook(
    client: Client, tenant: TenantHandle, settings: Settings, tmp_path: Path
) -> None:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "物流延迟",
            "description": "包裹迟迟未到。",
            "customer": {"nickname": "李"},
        },
    )
    assert response.status_code == 201, response.text
    month = dt.date.fromisoformat(response.json()["received_at"][:10]).strftime("%Y-%m")
    out = tmp_path / "report.xlsx"
    code, output = await run_cli(
        settings,
        "report",
        tenant.slug,
        "--period",
        month,
        "--format",
        "xlsx",
        "--locale",
        "en",
        "--out",
        str(out),
    )
    assert code == 0, output
    expected = await client.get(
        "/api/v1/reports/summary", headers=tenant.headers, params={"period": month}
    )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "Overview"
    rows = list(book["Overview"].iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if row and row[1] == "Metric code")
    values = {row[1]: row[rows[at].index("Value")] for row in rows[at + 1 :]}
    for name, metric in expected.json()["metrics"].items():
        assert values[name] == metric.get("value"), name
