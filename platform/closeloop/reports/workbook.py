"""A report `Summary` as tables: an XLSX workbook (one sheet per group of metrics) and
CSV rows (UTF-8 with a BOM, so Excel opens Chinese text).

    write_summary_xlsx(summary, "report.xlsx", locale="zh-CN")
    data = summary_csv(summary, locale="en")

Headers and metric names are in `locale` (zh-CN or en, `closeloop.reports.labels`);
the rows' own labels (a channel's name) are the summary's. Figures are written as
numbers in the metric's unit (`count`, `rate` 0..1 shown as a percentage, `seconds`,
`per_10000`), never as formatted text, so a spreadsheet can compute with them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from closeloop.reports import labels
from closeloop.reports.labels import COLUMNS, label
from closeloop.reports.schemas import METRICS, Metric, Summary

__all__ = [
    "METRIC_COLUMNS",
    "TREND_COLUMNS",
    "Table",
    "summary_csv",
    "summary_tables",
    "write_summary_xlsx",
]

# The columns of a metric sheet and of the trend sheet, by field name (labels.COLUMNS).
METRIC_COLUMNS = (
    "metric",
    "metric_code",
    "unit",
    "dimension",
    "key",
    "label",
    "value",
    "count",
    "numerator",
    "denominator",
    "share",
    "cumulative_share",
    "previous",
    "change",
)
TREND_COLUMNS = (
    "metric",
    "metric_code",
    "unit",
    "key",
    "start",
    "end",
    "value",
    "count",
    "numerator",
    "denominator",
)
_CSV_COLUMNS = ("sheet", *METRIC_COLUMNS[:6], "start", "end", *METRIC_COLUMNS[6:])
# Columns whose numbers are in the row's unit; share columns are always rates.
_IN_UNIT = ("value", "previous", "change")
_RATES = ("share", "cumulative_share")


@dataclasses.dataclass
class Table:
    """One sheet: its name (`overview`, a group of `labels.GROUPS`, `trend`), its
    title in the locale, its columns (field names) and rows (`{field: value}`; `_unit`
    gives the unit of the row's figures)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def _headline(name: str, metric: Metric, locale: str) -> dict[str, Any]:
    return {
        "_unit": metric.unit,
        "metric": label(labels.METRIC_NAMES, name, locale),
        "metric_code": name,
        "unit": label(labels.UNITS, metric.unit, locale),
        "dimension": "",
        "key": name,
        "label": label(labels.METRIC_NAMES, name, locale),
        "value": metric.value,
        "count": metric.count,
        "numerator": metric.numerator,
        "denominator": metric.denominator,
        "previous": metric.previous,
        "change": metric.change,
    }


def _metric_rows(name: str, metric: Metric, locale: str) -> Iterator[dict[str, Any]]:
    """The headline, the named figures, then every breakdown row."""
    head = _headline(name, metric, locale)
    yield head
    common = {key: head[key] for key in ("metric", "metric_code", "unit")}
    for figure, value in metric.figures.items():
        unit = "rate" if figure.endswith(("_rate", "_share")) else metric.unit
        if figure.endswith("seconds"):
            unit = "seconds"
        yield {
            **common,
            "_unit": unit,
            "dimension": "",
            "key": f"{name}.{figure}",
            "label": figure,
            "value": value,
        }
    for breakdown in metric.breakdowns:
        for row in breakdown.rows:
            yield {
                **common,
                "_unit": metric.unit,
                "dimension": label(labels.DIMENSIONS, breakdown.dimension, locale),
                "key": row.key,
                "label": row.label,
                "value": row.value,
                "count": row.count,
                "numerator": row.numerator,
                "denominator": row.denominator,
                "share": row.share,
                "cumulative_share": row.cumulative_share,
            }


def _trend_rows(summary: Summary, locale: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in _ordered(summary):
        metric = summary.metrics[name]
        for point in metric.trend:
            rows.append(
                {
                    "_unit": metric.unit,
                    "metric": label(labels.METRIC_NAMES, name, locale),
                    "metric_code": name,
                    "unit": label(labels.UNITS, metric.unit, locale),
                    "key": point.key,
                    "start": point.start,
                    "end": point.end,
                    "value": point.value,
                    "count": point.count,
                    "numerator": point.numerator,
                    "denominator": point.denominator,
                }
            )
    return rows


def _ordered(summary: Summary) -> list[str]:
    """The summary's metrics in the order of `METRICS`, then any others by name."""
    known = [name for name in METRICS if name in summary.metrics]
    return known + sorted(set(summary.metrics) - set(known))


def summary_tables(summary: Summary, *, locale: str) -> list[Table]:
    """The sheets of the report: the overview (every metric's headline), one per group
    of `labels.GROUPS` that has a metric in the summary, and the trend when grouped by
    time. A metric of no group (a newer one) goes to the last group's sheet."""
    overview = [_headline(name, summary.metrics[name], locale) for name in _ordered(summary)]
    tables = [Table("overview", label(COLUMNS, "overview", locale), METRIC_COLUMNS, overview)]
    grouped = {name for _, _, names in labels.GROUPS for name in names}
    others = tuple(name for name in _ordered(summary) if name not in grouped)
    for index, (group, titles, names) in enumerate(labels.GROUPS):
        if index == len(labels.GROUPS) - 1:
            names = names + others
        rows = [
            row
            for name in names
            if name in summary.metrics
            for row in _metric_rows(name, summary.metrics[name], locale)
        ]
        if rows:
            title = titles[1] if locale == "en" else titles[0]
            tables.append(Table(group, title, METRIC_COLUMNS, rows))
    trend = _trend_rows(summary, locale)
    if trend:
        tables.append(Table("trend", label(COLUMNS, "trend", locale), TREND_COLUMNS, trend))
    return tables


def _period_lines(summary: Summary, locale: str) -> list[tuple[str, str]]:
    period, previous = summary.period, summary.previous_period
    return [
        (label(COLUMNS, "period", locale), f"{period.date_from} – {period.date_to}"),
        (
            label(COLUMNS, "previous_period", locale),
            f"{previous.date_from} – {previous.date_to}",
        ),
        (label(COLUMNS, "time_zone", locale), period.time_zone),
        (
            label(COLUMNS, "generated_at", locale),
            summary.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        ),
    ]


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_summary_xlsx(
    summary: Summary, out: str | Path | IO[bytes], *, locale: str = "zh-CN"
) -> None:
    """Write the report as an XLSX workbook to a path or a binary file object, with
    headers, sheet names and metric names in `locale` (zh-CN or en)."""
    target: Any = str(out) if isinstance(out, Path) else out
    book = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_numbers": False})
    try:
        bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
        number = {
            "count": book.add_format({"num_format": "#,##0"}),
            "rate": book.add_format({"num_format": "0.0%"}),
            "seconds": book.add_format({"num_format": "#,##0"}),
            "per_10000": book.add_format({"num_format": "0.00"}),
        }
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        for table in summary_tables(summary, locale=locale):
            sheet = book.add_worksheet(_sheet_name(table.title))
            top = 0
            if table.name == "overview":
                for top, (name, value) in enumerate(_period_lines(summary, locale)):
                    sheet.write_string(top, 0, name, bold)
                    sheet.write_string(top, 1, value)
                top += 2
            headers = [label(COLUMNS, column, locale) for column in table.columns]
            widths = [_width(header) + 2 for header in headers]
            sheet.write_row(top, 0, headers, bold)
            for offset, row in enumerate(table.rows, start=top + 1):
                for col, column in enumerate(table.columns):
                    cell = row.get(column)
                    if cell is None or cell == "":
                        continue
                    if isinstance(cell, dt.date):
                        sheet.write_datetime(offset, col, _midnight(cell), day)
                    elif isinstance(cell, bool):
                        sheet.write_number(offset, col, int(cell))
                    elif isinstance(cell, int | float):
                        unit = "rate" if column in _RATES else row["_unit"]
                        fmt = number.get(unit) if column in _IN_UNIT + _RATES else None
                        sheet.write_number(offset, col, cell, fmt)
                    else:
                        sheet.write_string(offset, col, str(cell))
                        widths[col] = max(widths[col], min(_width(str(cell)) + 2, 60))
            for col, width in enumerate(widths):
                sheet.set_column(col, col, max(width, 10))
            sheet.freeze_panes(top + 1, 0)
            sheet.autofilter(top, 0, top + len(table.rows), len(table.columns) - 1)
    finally:
        book.close()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _sheet_name(title: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return cleaned[:31]


def summary_csv(summary: Summary, *, locale: str) -> bytes:
    """Every row of every sheet but the overview (whose rows the group sheets repeat),
    in one table with a `sheet` column; UTF-8 with a BOM. Numbers are written as
    Python prints them (rates as fractions 0..1)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label(COLUMNS, column, locale) for column in _CSV_COLUMNS])
    for table in summary_tables(summary, locale=locale)[1:]:
        for row in table.rows:
            writer.writerow(
                [
                    table.title if column == "sheet" else _csv_value(row.get(column))
                    for column in _CSV_COLUMNS
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return str(value)
