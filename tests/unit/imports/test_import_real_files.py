"""The shipped mappings on the real shared files: every row accounted for, nothing garbled.

* the whole CFPB export (11,782 complaints): every row is a case or a reported error,
  and the counts per channel and per year equal those computed from the file with the
  csv module; the product tree is created on the fly, parents first;
* the Chinese complaint sample (104 rows): titles, descriptions and companies intact,
  demands as the tenant's demand codes.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path

import pytest

from closeloop.imports import (
    ImportedCase,
    Known,
    Mapper,
    RowErrors,
    open_table,
    shipped_mapping,
)
from support import shared_data_dir

DATA = shared_data_dir()
CFPB = DATA / "cfpb" / "cfpb_combined_full_schema.csv"
HEIMAO = DATA / "zh" / "heimao_tousu_sina_2020.csv"
CFPB_ROWS = 11_782
SUBMITTED_VIA = {
    "Web": "web",
    "Phone": "phone",
    "Email": "email",
    "Postal mail": "letter",
    "Referral": "referral",
    "Fax": "fax",
}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        pytest.skip(
            f"{path} is missing (shared test data, not part of the repository; "
            "point CLOSELOOP_SHARED_DATA at the folder holding zh/ and cfpb/)"
        )
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _map_file(path: Path, mapping_name: str) -> tuple[list[ImportedCase], list[RowErrors], Mapper]:
    mapping = shipped_mapping(mapping_name)
    with open_table(path, **mapping.read_options()) as table:
        mapper = Mapper(mapping, table.header, known=Known.defaults())
        results = list(mapper.map_rows(table.rows()))
        assert table.blank_rows == 0
    cases = [r for r in results if isinstance(r, ImportedCase)]
    failed = [r for r in results if isinstance(r, RowErrors)]
    return cases, failed, mapper


def test_the_whole_cfpb_file_maps_with_every_row_accounted_for() -> None:
    rows = _csv_rows(CFPB)
    assert len(rows) == CFPB_ROWS
    cases, failed, mapper = _map_file(CFPB, "cfpb")

    assert len(cases) + len(failed) == CFPB_ROWS
    assert (mapper.tally.rows, mapper.tally.cases) == (CFPB_ROWS, len(cases))
    assert failed == []
    by_row = {case.row: case for case in cases}
    assert sorted(by_row) == list(range(2, CFPB_ROWS + 2))  # spreadsheet rows, header is 1

    expected_channels = collections.Counter(SUBMITTED_VIA[r["Submitted via"]] for r in rows)
    assert collections.Counter(c.channel for c in cases) == expected_channels
    expected_years = collections.Counter(int(r["Date received"][:4]) for r in rows)
    assert collections.Counter(c.received_at.year for c in cases if c.received_at) == (
        expected_years
    )
    assert [c.external_id for c in cases] == [r["Complaint ID"] for r in rows]

    # Row by row, the file's own values: dates in Eastern time, the company response.
    for row, case in zip(rows, cases, strict=True):
        assert case.received_at is not None
        assert case.received_at.date().isoformat() == row["Date received"]
        assert case.received_at.utcoffset() is not None
        assert case.title == f"{row['Product']}: {row['Issue']}"
        parts = (row["Issue"], row["Sub-issue"], row["Consumer complaint narrative"])
        texts = [p.replace("\r\n", "\n").strip() for p in parts]
        assert case.description == "\n\n".join(t for t in texts if t)
        open_ = row["Company response to consumer"] in ("In progress", "Untimely response")
        assert case.status == ("in_progress" if open_ else "resolved")
        assert case.extra["timely_response"] is (row["Timely response?"] == "Yes")
        # ... and as the first response clock's outcome, due 15 days after it was sent.
        stated = case.sla["first_response"]
        assert stated.met is (row["Timely response?"] == "Yes")
        assert stated.started_at is not None
        assert stated.started_at.date().isoformat() == row["Date sent to company"]
        assert stated.due == {"unit": "calendar", "hours": 360}
        assert case.extra["company"] == row["Company"]


def test_cfpb_products_become_a_category_tree_created_parents_first() -> None:
    rows = _csv_rows(CFPB)
    cases, _, mapper = _map_file(CFPB, "cfpb")
    categories = [c for c in mapper.creations if c.kind == "category"]
    products = {r["Product"] for r in rows}
    paths = {(r["Product"], r["Sub-product"]) for r in rows if r["Sub-product"]}
    assert {c.name for c in categories if c.parent is None} == products
    assert len([c for c in categories if c.parent is not None]) == len(paths)
    seen: set[str] = set()
    for creation in categories:  # a parent is always created before its children
        assert creation.parent is None or creation.parent in seen
        seen.add(creation.code)
    assert len(seen) == len(categories)
    assert {case.category for case in cases} <= seen
    # The channels a new tenant lacks are created too; the others are its own.
    assert {c.code for c in mapper.creations if c.kind == "channel"} == {"referral", "fax"}


def test_the_chinese_complaints_map_with_their_text_intact() -> None:
    rows = _csv_rows(HEIMAO)
    assert len(rows) == 104
    cases, failed, mapper = _map_file(HEIMAO, "heimao")
    assert failed == []
    assert len(cases) == 104
    assert mapper.creations == []
    for row, case in zip(rows, cases, strict=True):
        assert case.title == " ".join(row["投诉标题"].split())
        assert case.description == row["投诉详情"].replace("\r\n", "\n").strip()
        assert case.product is not None
        assert case.product.name == row["投诉对象"].strip()
        assert case.extra["demands_text"] == row["投诉要求"].strip()
        assert case.channel == "web"
        assert case.received_at is None
    first = cases[0]  # 拼多多天天领红包虚假 ... 虚假宣传, "退款,赔偿"
    assert first.title == "拼多多天天领红包虚假"
    assert first.demands == ["refund", "compensation"]
    categories = collections.Counter(c.category for c in cases)
    assert categories["billing_dispute"] > 0
    assert set(categories) <= {
        "product_quality",
        "service_attitude",
        "logistics_delay",
        "system_failure",
        "billing_dispute",
        "information_security",
        "after_sales_response",
        "process_efficiency",
        "other",
    }
