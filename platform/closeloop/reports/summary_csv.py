"""A `Summary` as CSV (UTF-8 with a BOM, so Excel opens Chinese text): one line per
metric, per breakdown row and per trend point, with the metric's figures."""

from __future__ import annotations

import csv
import io
from typing import IO

from closeloop.reports.schemas import Figure, Summary

__all__ = ["HEADER", "write_summary_csv"]

HEADER = (
    "metric",
    "unit",
    "part",
    "key",
    "label",
    "value",
    "numerator",
    "denominator",
    "count",
    "share",
    "cumulative_share",
    "previous",
    "change",
    "figures",
)


def _cell(value: Figure | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _figures(figures: dict[str, Figure]) -> str:
    return "; ".join(f"{k}={_cell(v)}" for k, v in figures.items())


def write_summary_csv(summary: Summary, out: IO[bytes]) -> None:
    """Write `summary` to the binary stream `out`."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    period = f"{summary.period.date_from}..{summary.period.date_to}"
    previous = f"{summary.previous_period.date_from}..{summary.previous_period.date_to}"
    writer.writerow(("period", "", "", period, summary.period.time_zone, *[""] * 6, previous))
    for metric in summary.metrics.values():
        writer.writerow(
            (
                metric.name,
                metric.unit,
                "total",
                "",
                metric.note or "",
                _cell(metric.value),
                _cell(metric.numerator),
                _cell(metric.denominator),
                _cell(metric.count),
                "",
                "",
                _cell(metric.previous),
                _cell(metric.change),
                _figures(metric.figures),
            )
        )
        for breakdown in metric.breakdowns:
            for row in breakdown.rows:
                writer.writerow(
                    (
                        metric.name,
                        metric.unit,
                        breakdown.dimension,
                        row.key,
                        row.label,
                        _cell(row.value),
                        _cell(row.numerator),
                        _cell(row.denominator),
                        _cell(row.count),
                        _cell(row.share),
                        _cell(row.cumulative_share),
                        "",
                        "",
                        _figures(row.figures),
                    )
                )
        for point in metric.trend:
            writer.writerow(
                (
                    metric.name,
                    metric.unit,
                    "trend",
                    point.key,
                    f"{point.start}..{point.end}",
                    _cell(point.value),
                    _cell(point.numerator),
                    _cell(point.denominator),
                    _cell(point.count),
                    "",
                    "",
                    "",
                    "",
                    _figures(point.figures),
                )
            )
    out.write(b"\xef\xbb\xbf" + text.getvalue().encode("utf-8"))
