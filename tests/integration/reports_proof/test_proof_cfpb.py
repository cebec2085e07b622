"""The report over the imported CFPB file equals counts taken from the file itself: per
year (the report's `period=YYYY`), per channel, per product category (the tree the
shipped mapping builds: Product > Sub-product), per kind, the company's response
(the cases the figure lists, by the status the response maps to) and whether it was
timely (the on-time rate of the first response, the cases each part of it lists)."""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings
from integration.imports.import_support import cfpb_path, run_import
from support import Client, TenantHandle

# The shipped mapping's channel map and response → status map, written out again here.
CHANNELS = {
    "Web": "web",
    "Web Referral": "web",
    "Phone": "phone",
    "Email": "email",
    "Postal mail": "letter",
    "Referral": "referral",
    "Fax": "fax",
}
IN_PROGRESS = {"In progress", "Untimely response"}
# The CFPB's dates are Eastern time; a company has 15 calendar days from the day the
# complaint was sent to it (the shipped mapping's first response target, written out).
EASTERN = ZoneInfo("America/New_York")
TIMELY_SPAN = dt.timedelta(days=15)


async def _categories(engine: AsyncEngine, tenant: TenantHandle) -> dict[tuple[str, ...], str]:
    """(Product,) and (Product, Sub-product) → the category code the import created,
    found by the names it gave them (configuration, not report code)."""
    async with transaction(sessionmaker(engine), tenant.id) as session:
        rows = (
            await session.execute(
                text("SELECT id, parent_id, code, name_en, name_zh FROM categories")
            )
        ).all()
    by_id = {r[0]: r for r in rows}
    out: dict[tuple[str, ...], str] = {}
    for row in rows:
        names = {row[3], row[4]}
        parent = by_id.get(row[1])
        for name in names:
            if parent is None:
                out[(name,)] = row[2]
            else:
                for parent_name in {parent[3], parent[4]}:
                    out[(parent_name, name)] = row[2]
    return out


async def _listed(client: Client, tenant: TenantHandle, metric: str, **params: str) -> list[Any]:
    """Every case `GET /api/v1/reports/{metric}/cases` lists for `params`, page by page."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
        page = await client.get(
            f"/api/v1/reports/{metric}/cases", headers=tenant.headers, params=query
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def _breakdown(metric: dict[str, Any], dimension: str) -> dict[str, int]:
    for breakdown in metric["breakdowns"]:
        if breakdown["dimension"] == dimension:
            return {r["key"]: r["count"] for r in breakdown["rows"] if r["count"]}
    raise AssertionError(f"no breakdown by {dimension}")


async def test_the_report_over_the_imported_cfpb_file_equals_the_files_own_counts(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings,
    tmp_path: Path,
) -> None:  # fmt: skip
    path = cfpb_path()
    if not path.exists():
        pytest.skip("the shared CFPB file is not here")
    with path.open(encoding="utf-8", newline="") as f:
        file_rows = list(csv.DictReader(f))
    settings = dataclasses.replace(settings, data_dir=tmp_path / "data")
    run = await run_import(sessionmaker(app_engine), settings, tenant, path, "cfpb",
                           file_name=path.name)  # fmt: skip
    assert run.status == "done", run.failure
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        errors = await session.scalars(text("SELECT DISTINCT row FROM import_row_errors"))
        failed = set(errors.all())
    assert len(failed) == run.errors
    # Row numbers as a spreadsheet shows them: the header is row 1.
    file_rows = [r for n, r in enumerate(file_rows, start=2) if n not in failed]
    assert run.created == len(file_rows)
    # Imported history enqueues nothing: the facts of an import come from a rebuild.
    from support import run_cli

    code, output = await run_cli(settings, "reports", "rebuild", tenant.slug)
    assert code == 0, output

    categories = await _categories(app_engine, tenant)
    years = sorted({r["Date received"][:4] for r in file_rows})
    for year in years:
        rows = [r for r in file_rows if r["Date received"][:4] == year]
        response = await client.get(
            "/api/v1/reports/summary", headers=tenant.headers, params={"period": year}
        )
        assert response.status_code == 200, response.text
        volume = response.json()["metrics"]["volume"]
        assert volume["value"] == len(rows), year
        channels = collections.Counter(f"channel:{CHANNELS[r['Submitted via']]}" for r in rows)
        assert _breakdown(volume, "channel") == dict(channels), year
        assert _breakdown(volume, "kind") == {"kind:complaint": len(rows)}, year
        # Every node of the tree counts its descendants: a product counts all its rows.
        tree: collections.Counter[str] = collections.Counter()
        for r in rows:
            tree[f"category:{categories[(r['Product'],)]}"] += 1
            if r["Sub-product"]:
                tree[f"category:{categories[(r['Product'], r['Sub-product'])]}"] += 1
        assert _breakdown(volume, "category") == dict(tree), year

        # The company's response: the cases the year's figure lists, by status.
        listed = collections.Counter(
            item["status"] for item in await _listed(client, tenant, "volume", period=year)
        )
        responses = collections.Counter(
            "in_progress" if r["Company response to consumer"] in IN_PROGRESS else "resolved"
            for r in rows
        )
        assert dict(listed) == dict(responses), year

    # Timely response: each row's first response clock, due 15 days after the complaint
    # was sent (midnight Eastern, elapsed time), in the year of its due date in the
    # tenant's time zone (the on-time rate's dating); met when the file says Yes.
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        zone = ZoneInfo(str(await session.scalar(text("SELECT timezone FROM tenants"))))
        numbers = dict((await session.execute(text("SELECT number, external_id FROM cases"))).all())
    due: dict[str, dict[str, set[str]]] = collections.defaultdict(
        lambda: {"met": set(), "breached": set()}
    )
    for r in file_rows:
        sent = dt.date.fromisoformat(r["Date sent to company"] or r["Date received"])
        start = dt.datetime.combine(sent, dt.time(), EASTERN).astimezone(dt.UTC)
        year = str((start + TIMELY_SPAN).astimezone(zone).year)
        due[year]["met" if r["Timely response?"] == "Yes" else "breached"].add(r["Complaint ID"])
    assert sum(len(d["breached"]) for d in due.values()) > 0  # the file has untimely ones
    for year, states in sorted(due.items()):
        response = await client.get(
            "/api/v1/reports/summary", headers=tenant.headers, params={"period": year}
        )
        assert response.status_code == 200, response.text
        on_time = response.json()["metrics"]["on_time_rate"]
        [row] = [
            r
            for b in on_time["breakdowns"]
            if b["dimension"] == "target"
            for r in b["rows"]
            if r["key"] == "on_time_rate:first_response"
        ]
        met, breached = len(states["met"]), len(states["breached"])
        assert (row["numerator"], row["denominator"]) == (met, met + breached), year
        assert row["figures"]["breached"] == breached, year
        assert row["value"] == pytest.approx(met / (met + breached)), year
        # The figure's cases: exactly the rows the file says were (not) timely.
        for state, expected in states.items():
            key = f"on_time_rate:first_response:{state}"
            items = await _listed(client, tenant, "on_time_rate", period=year, key=key)
            assert sorted(numbers[item["number"]] for item in items) == sorted(expected), key
