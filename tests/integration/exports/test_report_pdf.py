"""The report PDF: a Summary's key figures and breakdowns as tables, Chinese or English,
and `closeloop report --format pdf` writing it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from pypdf import PdfReader

from closeloop.reports.pdf import render_report_pdf
from closeloop.reports.schemas import (
    Breakdown,
    Metric,
    Period,
    ReportFilters,
    Row,
    Summary,
)
from closeloop.settings import Settings
from integration.cases.case_support import create_case
from support import Client, TenantHandle, run_cli


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _summary() -> Summary:
    channels = [
        Row(key="channel:web", label="网站", value=250, count=250, share=0.607),
        Row(key="channel:phone", label="电话", value=162, count=162, share=0.393),
    ]
    pareto = [
        Row(key="category:logistics", label="物流延迟", value=124, count=124, share=0.30,
            cumulative_share=0.30),
        Row(key="category:quality", label="产品质量", value=80, count=80, share=0.19,
            cumulative_share=0.49),
    ]  # fmt: skip
    metrics = {
        "volume": Metric(
            name="volume", unit="count", value=412, previous=380, change=32,
            breakdowns=[Breakdown(dimension="channel", rows=channels)],
        ),
        "on_time_rate": Metric(
            name="on_time_rate", unit="rate", value=0.93, numerator=372, denominator=400,
            previous=0.9, change=0.03,
        ),
        "resolution_time": Metric(name="resolution_time", unit="seconds", value=9 * 3600),
        "pareto": Metric(
            name="pareto", unit="count", value=412,
            breakdowns=[Breakdown(dimension="category", rows=pareto)],
        ),
    }  # fmt: skip
    return Summary(
        period=Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), 31, "Asia/Shanghai"),
        previous_period=Period(dt.date(2026, 9, 1), dt.date(2026, 9, 30), 30, "Asia/Shanghai"),
        group_by=None,
        filters=ReportFilters(),
        metrics=metrics,
        generated_at=dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC),
    )


def test_report_pdf_tables_the_key_figures_in_chinese() -> None:
    text = _text(render_report_pdf(_summary(), locale="zh-CN"))
    expected = ("投诉分析报告", "2026-10-01", "投诉总量", "412", "380", "+32", "处理及时率",
                "93.0%", "372 / 400", "9.0 小时", "网站", "60.7%", "物流延迟", "49.0%")  # fmt: skip
    for words in expected:
        assert words in text, words


def test_report_pdf_speaks_english_and_writes_to_a_stream() -> None:
    out = io.BytesIO()
    pdf = render_report_pdf(_summary(), out, locale="en")
    assert out.getvalue() == pdf
    text = _text(pdf)
    expected = ("Complaint analysis report", "Cases received", "On-time rate", "+3.0 pt", "9.0 h")
    for words in expected:
        assert words in text, words
    assert "投诉总量" not in text


async def test_report_command_writes_a_pdf(
    client: Client, tenant: TenantHandle, settings: Settings, tmp_path: Path
) -> None:
    await create_case(client, tenant.headers, title="快递延误一周")
    code, output = await run_cli(settings, "reports", "rebuild", tenant.slug)
    assert code == 0, output
    out = tmp_path / "report.pdf"
    today = dt.datetime.now(dt.UTC).date()
    code, output = await run_cli(
        settings, "report", tenant.slug, "--from", f"{today.year}-01-01",
        "--to", f"{today.year}-12-31", "--format", "pdf", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    text = _text(out.read_bytes())
    assert "投诉分析报告" in text
    assert f"{today.year}-01-01" in text
