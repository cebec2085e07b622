"""A report `Summary` as a PDF: the key figures against the previous period, then each
metric's breakdowns as tables, in zh-CN or en (WeasyPrint, Noto CJK embedded).

`render_report_pdf(summary, out=None, *, locale="zh-CN")` answers the PDF's bytes and,
given a binary stream `out`, writes them there too: the shape `closeloop report
--format pdf` calls (`reports.cli.FORMATS`) and the shape the scheduled e-mail or an API
route can use. Metrics and dimensions are named from `closeloop.reports.labels`, the
names the workbook, the CSV, the e-mail and the console use.
"""

from __future__ import annotations

from typing import IO, Any

from closeloop.exports.pdf import PdfTemplates
from closeloop.reports.labels import DIMENSIONS, METRIC_NAMES
from closeloop.reports.schemas import Figure, Summary

__all__ = ["render_report_pdf"]

_TEMPLATES = PdfTemplates(__file__)
ROWS_SHOWN = 20  # a breakdown's first rows (its order: largest first, or the Pareto's)

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("投诉分析报告", "Complaint analysis report"),
    "period": ("统计期间", "Period"),
    "previous": ("上期", "Previous period"),
    "key_figures": ("关键指标", "Key figures"),
    "metric": ("指标", "Metric"),
    "value": ("本期", "This period"),
    "change": ("变化", "Change"),
    "basis": ("依据", "Based on"),
    "item": ("项目", "Item"),
    "count": ("数量", "Count"),
    "share": ("占比", "Share"),
    "cumulative": ("累计占比", "Cumulative"),
    "generated": ("生成时间", "Generated"),
    "time_zone": ("时区", "Time zone"),
    "more_rows": ("另有 {n} 行未列出", "{n} more rows not shown"),
}


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale.lower().startswith("en") else pair[0]


def _figure(value: Figure, unit: str, locale: str) -> str:
    """A figure as a reader reads it: counts whole, rates in %, durations in hours."""
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        hours = value / 3600
        return f"{hours:.1f} h" if locale.startswith("en") else f"{hours:.1f} 小时"
    if unit == "per_10000":
        return f"{value:.2f}"
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


def _change(value: Figure, unit: str, locale: str) -> str:
    if value is None:
        return ""
    sign = "+" if value > 0 else ""
    if unit == "rate":
        return f"{sign}{value * 100:.1f} pt"
    return sign + _figure(value, unit, locale)


def _context(summary: Summary, locale: str) -> dict[str, Any]:
    def word(key: str) -> str:
        return _pick(_WORDS[key], locale) if key in _WORDS else key

    def dimension(key: str) -> str:
        return _pick(DIMENSIONS[key], locale) if key in DIMENSIONS else key

    key_rows, sections = [], []
    for name, metric in summary.metrics.items():
        title = _pick(METRIC_NAMES.get(name, (name, name)), locale)
        basis = ""
        if metric.numerator is not None and metric.denominator is not None:
            basis = f"{metric.numerator:,} / {metric.denominator:,}"
        elif metric.count is not None:
            basis = f"{metric.count:,}"
        key_rows.append(
            {
                "title": title,
                "value": _figure(metric.value, metric.unit, locale),
                "previous": _figure(metric.previous, metric.unit, locale),
                "change": _change(metric.change, metric.unit, locale),
                "basis": basis,
                "note": metric.note or "",
            }
        )
        for breakdown in metric.breakdowns:
            rows = [
                {
                    "label": row.label or row.key,
                    "value": _figure(row.value, metric.unit, locale),
                    "count": "" if row.count is None else f"{row.count:,}",
                    "share": "" if row.share is None else f"{row.share * 100:.1f}%",
                    "cumulative": ""
                    if row.cumulative_share is None
                    else f"{row.cumulative_share * 100:.1f}%",
                }
                for row in breakdown.rows[:ROWS_SHOWN]
            ]
            if not rows:
                continue
            hidden = len(breakdown.rows) - len(rows)
            sections.append(
                {
                    "title": f"{title} · {dimension(breakdown.dimension)}",
                    "rows": rows,
                    "cumulative": any(r["cumulative"] for r in rows),
                    "more": word("more_rows").format(n=hidden) if hidden > 0 else "",
                }
            )
    period, previous = summary.period, summary.previous_period
    return {
        "locale": "en" if locale.lower().startswith("en") else "zh-CN",
        "w": word,
        "period": f"{period.date_from} – {period.date_to}",
        "previous": f"{previous.date_from} – {previous.date_to}",
        "time_zone": period.time_zone,
        "generated": summary.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "key_rows": key_rows,
        "sections": sections,
    }


def render_report_pdf(
    summary: Summary, out: IO[bytes] | None = None, *, locale: str = "zh-CN"
) -> bytes:
    """`summary` as PDF bytes in `locale` (zh-CN or en); also written to `out` if given.
    CPU work of about a second: call it off the event loop (`anyio.to_thread`)."""
    pdf = _TEMPLATES.pdf_sync("report.html", **_context(summary, locale))
    if out is not None:
        out.write(pdf)
    return pdf
