"""The report workbook, CSV and charts from a hand-built `Summary`: every figure lands in
its sheet as a number in the tenant's language, Chinese text intact; the CSV starts with
a BOM; the charts are PNG drawn with a CJK font (no missing glyph)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings

import openpyxl
import pytest

from closeloop.reports.charts import report_charts
from closeloop.reports.schemas import (
    Breakdown,
    Metric,
    Period,
    ReportFilters,
    Row,
    Summary,
    TrendPoint,
)
from closeloop.reports.workbook import summary_csv, write_summary_xlsx


def _summary() -> Summary:
    days = [dt.date(2026, 11, 23) + dt.timedelta(days=i) for i in range(7)]
    received = [5, 8, 0, 3, 9, 1, 2]
    resolved = [2, 6, 1, 3, 4, 0, 1]
    channels = [
        ("channel:phone", "电话", 12),
        ("channel:web", "网站", 10),
        ("channel:app", "App", 6),
    ]
    pareto = [
        ("category:logistics", "物流延迟", 14),
        ("category:quality", "产品质量", 9),
        ("category:other", "其他", 5),
    ]
    running = 0
    pareto_rows = []
    for key, name, count in pareto:
        running += count
        pareto_rows.append(
            Row(
                key=key,
                label=name,
                value=count,
                count=count,
                share=count / 28,
                cumulative_share=running / 28,
            )
        )

    def trend(values: list[int]) -> list[TrendPoint]:
        return [
            TrendPoint(key=f"day:{day}", start=day, end=day, value=value, count=value)
            for day, value in zip(days, values, strict=True)
        ]

    metrics = {
        "volume": Metric(
            name="volume",
            unit="count",
            value=28,
            count=28,
            previous=20,
            change=8,
            breakdowns=[
                Breakdown(
                    dimension="channel",
                    rows=[
                        Row(key=k, label=n, value=c, count=c, share=c / 28) for k, n, c in channels
                    ],
                )
            ],
            trend=trend(received),
        ),
        "resolved": Metric(
            name="resolved", unit="count", value=17, count=17, trend=trend(resolved)
        ),
        "on_time_rate": Metric(
            name="on_time_rate",
            unit="rate",
            value=0.75,
            numerator=15,
            denominator=20,
            previous=0.5,
            change=0.25,
            trend=[
                TrendPoint(
                    key=f"day:{day}",
                    start=day,
                    end=day,
                    value=0.5 + i / 20,
                    numerator=1,
                    denominator=2,
                )
                for i, day in enumerate(days)
            ],
        ),
        "resolution_time": Metric(
            name="resolution_time",
            unit="seconds",
            value=7200.0,
            count=17,
            figures={"median_business_seconds": 3600.0, "p90_calendar_seconds": 86400.0},
        ),
        "pareto": Metric(
            name="pareto",
            unit="count",
            value=28,
            breakdowns=[Breakdown(dimension="category", rows=pareto_rows)],
        ),
    }
    return Summary(
        period=Period(date_from=days[0], date_to=days[-1], days=7, time_zone="Asia/Shanghai"),
        previous_period=Period(
            date_from=days[0] - dt.timedelta(days=7),
            date_to=days[0] - dt.timedelta(days=1),
            days=7,
            time_zone="Asia/Shanghai",
        ),
        group_by="day",
        filters=ReportFilters(),
        metrics=metrics,
        generated_at=dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC),
    )


def _rows_by_key(sheet: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, dict[str, object]]:
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row[1] in ("指标代码", "Metric code"))
    header = rows[header_at]
    return {
        str(row[header.index("键" if "键" in header else "Key")]): dict(
            zip(header, row, strict=True)
        )
        for row in rows[header_at + 1 :]
    }


def test_the_workbook_holds_every_figure_in_chinese_sheets() -> None:
    summary = _summary()
    out = io.BytesIO()
    write_summary_xlsx(summary, out, locale="zh-CN")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames[0] == "概览"
    assert "投诉总量" in book.sheetnames
    assert "趋势" in book.sheetnames
    overview = _rows_by_key(book["概览"])
    assert overview["volume"]["数值"] == 28
    assert overview["volume"]["上期"] == 20
    assert overview["on_time_rate"]["分子"] == 15
    assert overview["on_time_rate"]["分母"] == 20
    assert overview["on_time_rate"]["指标"] == "处理及时率"
    volume = _rows_by_key(book["投诉总量"])
    assert volume["channel:phone"]["项目"] == "电话"
    assert volume["channel:phone"]["件数"] == 12
    problems = _rows_by_key(book["高频问题"])
    assert problems["category:logistics"]["项目"] == "物流延迟"
    assert problems["category:quality"]["累计占比"] == pytest.approx(23 / 28)
    timeliness = _rows_by_key(book["时效"])
    assert timeliness["resolution_time.median_business_seconds"]["数值"] == 3600
    trend = list(book["趋势"].iter_rows(values_only=True))
    volume_points = [row for row in trend[1:] if row[1] == "volume"]
    assert [row[6] for row in volume_points] == [5, 8, 0, 3, 9, 1, 2]


def test_the_workbook_speaks_english_for_an_english_tenant() -> None:
    out = io.BytesIO()
    write_summary_xlsx(_summary(), out, locale="en")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames[0] == "Overview"
    overview = _rows_by_key(book["Overview"])
    assert overview["on_time_rate"]["Metric"] == "On-time rate"
    assert overview["on_time_rate"]["Value"] == 0.75


def test_the_csv_has_a_bom_and_every_breakdown_row() -> None:
    data = summary_csv(_summary(), locale="zh-CN")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:2] == ["分表", "指标"]
    by_key = {row[header.index("键")]: row for row in rows[1:] if row[header.index("维度")]}
    assert by_key["channel:web"][header.index("项目")] == "网站"
    assert by_key["channel:web"][header.index("件数")] == "10"


def test_the_charts_are_png_with_chinese_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" is a warning
        charts = report_charts(_summary(), locale="zh-CN")
    assert set(charts) == {"trend", "channels", "pareto"}
    for png in charts.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 5_000


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_output_names_the_metrics_from_the_one_table(locale: str) -> None:
    """The workbook, the CSV, the PDF, the e-mail's figures and the console's dashboard
    name each metric from `labels.METRIC_NAMES`; the volume is "投诉总量" / "Cases
    received" (the practice's term)."""
    from pypdf import PdfReader

    from closeloop.console.reports_view import metric_title
    from closeloop.reports import pdf
    from closeloop.reports.labels import METRIC_NAMES, label
    from closeloop.reports.mailing import key_figures

    assert pdf.METRIC_NAMES is METRIC_NAMES  # no table of its own
    summary = _summary()
    names = {name: label(METRIC_NAMES, name, locale) for name in summary.metrics}
    assert names["volume"] == ("Cases received" if locale == "en" else "投诉总量")

    out = io.BytesIO()
    write_summary_xlsx(summary, out, locale=locale)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    overview = _rows_by_key(book.worksheets[0])
    metric = "Metric" if locale == "en" else "指标"
    assert {name: overview[name][metric] for name in names} == names

    rows = list(csv.reader(io.StringIO(summary_csv(summary, locale=locale).decode("utf-8-sig"))))
    column = rows[0].index(metric)
    assert {row[column] for row in rows[1:]} >= set(names.values())

    text = "\n".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(pdf.render_report_pdf(summary, locale=locale))).pages
    )
    for name in names.values():
        assert name in text, name

    mailed = {name for name, _, _ in key_figures(summary, locale)}
    assert mailed == {names[m] for m in ("volume", "resolved", "on_time_rate", "resolution_time")}
    assert {metric_title(locale, m) for m in names} == set(names.values())
