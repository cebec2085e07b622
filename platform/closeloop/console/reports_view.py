"""What the reports dashboard shows of a `Summary`: number cards, chart data, tables.

Nothing here computes a figure: every value, rate and share comes from
`ReportService.summary` (docs/reports.md). This module words them in the page's
language (numbers, percentages, durations, the change against the previous period)
and gives every figure the link to the console page listing its cases
(`/console/reports/{metric}/cases?key=...`, which calls `ReportService.cases`).
The charts are data for `static/js/reports.js` (Apache ECharts), passed as JSON in a
`data-chart` attribute: categories, series and, for each point, its value, its text
and its link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from babel.numbers import format_decimal, format_percent

from closeloop.console.directory import Names
from closeloop.console.i18n import N_, babel_locale, gettext
from closeloop.console.live import CLOCK_MESSAGES
from closeloop.reports.labels import METRIC_NAMES, label
from closeloop.reports.schemas import Breakdown, Metric, Row, Summary, TrendPoint

__all__ = [
    "CARDS",
    "Linker",
    "View",
    "dashboard",
    "format_figure",
    "key_label",
    "metric_title",
    "period_text",
]

# Builds the link to the cases behind a figure: (metric, key or None) -> URL.
Linker = Callable[[str, str | None], str]

# The number cards, in order.
CARDS = (
    "volume",
    "resolved",
    "first_response_time",
    "resolution_time",
    "on_time_rate",
    "fcr_rate",
    "reopen_rate",
    "repeat_rate",
    "satisfaction",
    "followup",
    "escalations",
    "complaint_rate",
)
# Which way a change is good news (absent: neither, e.g. the volume).
_BETTER_UP = {"resolved", "on_time_rate", "fcr_rate", "satisfaction", "followup"}
_BETTER_DOWN = {
    "first_response_time",
    "resolution_time",
    "close_time",
    "reopen_rate",
    "repeat_rate",
    "escalations",
    "made_major",
    "complaint_rate",
}
# Words for the parts of a case-list key that are not a code of the tenant's own.
KEY_WORDS = {
    "met": N_("met"),
    "breached": N_("breached"),
    "on_time": N_("done on time"),
    "late": N_("done late"),
    "open": N_("still open, overdue"),
    "not": N_("not resolved at the first contact"),
    "none": N_("none"),
    "internal": N_("internal"),
    "customer": N_("the customer"),
    "third_party": N_("a third party"),
    "resolved_satisfied": N_("resolved, satisfied"),
    "partially_resolved": N_("partially resolved"),
    "unresolved": N_("unresolved"),
    "first_response": N_("first response"),
    "customer_update": N_("customer update"),
    "resolution": N_("resolution"),
    "customer_contact": N_("customer contact"),
    "followup": N_("follow-up"),
    "first_feedback": N_("first feedback"),
    "second_handling": N_("second handling"),
}
NOTES = {"no_order_volume": N_("No order volume recorded for this period.")}


def metric_title(locale: str, metric: str) -> str:
    """A metric's name in the page's language: the one table of metric names
    (`closeloop.reports.labels.METRIC_NAMES`) the PDF, workbook and e-mail use too."""
    return label(METRIC_NAMES, metric, locale)


@dataclasses.dataclass(frozen=True, slots=True)
class View:
    """How one page words things: its language and its names of the tenant's codes."""

    locale: str
    names: Names
    channels: dict[str, str]
    link: Linker

    def text(self, message: str, **variables: Any) -> str:
        return gettext(self.locale, message, **variables)


def format_figure(locale: str, unit: str, value: float | None) -> str:
    """A figure in its unit, the page's way: 1,234 · 93.5% · 2.5 h · 12.35."""
    if value is None:
        return "—"
    where = babel_locale(locale)
    if unit == "rate":
        return format_percent(value, "#,##0.0%", locale=where)
    if unit == "seconds":
        return _duration(locale, value)
    if unit == "per_10000":
        return format_decimal(value, "#,##0.00", locale=where)
    return format_decimal(value, "#,##0.##", locale=where)


def _duration(locale: str, seconds: float) -> str:
    """A length of time in its largest sensible unit, one decimal (the console's
    clock words: "{n} h", "{n} d")."""
    size = abs(seconds)
    if size >= 2 * 86_400:
        amount, word = seconds / 86_400, CLOCK_MESSAGES["day"]
    elif size >= 3_600:
        amount, word = seconds / 3_600, CLOCK_MESSAGES["hour"]
    else:
        amount, word = seconds / 60, CLOCK_MESSAGES["minute"]
    number = format_decimal(amount, "#,##0.#", locale=babel_locale(locale))
    return gettext(locale, word).replace("{n}", number)


def _change(view: View, metric: Metric) -> dict[str, Any] | None:
    """The change against the previous period, worded, with whether it is good news."""
    if metric.change is None or metric.previous is None:
        return None
    change = float(metric.change)
    if metric.unit == "rate":
        amount = format_decimal(abs(change) * 100, "#,##0.0", locale=babel_locale(view.locale))
        size = view.text(N_("%(n)s pp"), n=amount)
    else:
        size = format_figure(view.locale, metric.unit, abs(change))
    tone = "neutral"
    if change and metric.name in _BETTER_UP:
        tone = "good" if change > 0 else "bad"
    elif change and metric.name in _BETTER_DOWN:
        tone = "good" if change < 0 else "bad"
    direction = "up" if change > 0 else "down" if change < 0 else "same"
    previous = format_figure(view.locale, metric.unit, metric.previous)
    words = {
        "up": N_("up %(size)s on the previous period (%(previous)s)"),
        "down": N_("down %(size)s on the previous period (%(previous)s)"),
        "same": N_("as in the previous period (%(previous)s)"),
    }
    return {
        "direction": direction,
        "tone": tone,
        "text": view.text(words[direction], size=size, previous=previous),
    }


def _card(view: View, metric: Metric) -> dict[str, Any]:
    figures: list[str] = []
    if metric.unit == "rate" and metric.denominator:
        figures.append(
            view.text(
                N_("%(numerator)s of %(denominator)s"),
                numerator=format_figure(view.locale, "count", metric.numerator or 0),
                denominator=format_figure(view.locale, "count", metric.denominator),
            )
        )
    if metric.unit == "seconds":
        median = metric.figures.get("median_calendar_seconds")
        business = metric.figures.get("median_business_seconds")
        if median is not None:
            figures.append(
                view.text(N_("median %(time)s"), time=format_figure(view.locale, "seconds", median))
            )
        if business is not None:
            figures.append(
                view.text(
                    N_("median in working time %(time)s"),
                    time=format_figure(view.locale, "seconds", business),
                )
            )
    return {
        "name": metric.name,
        "title": metric_title(view.locale, metric.name),
        "value": format_figure(view.locale, metric.unit, metric.value),
        "figures": figures,
        "change": _change(view, metric),
        "note": view.text(NOTES[metric.note]) if metric.note in NOTES else None,
        "url": view.link(metric.name, None),
    }


def key_label(view: View, key: str) -> str:
    """What a row or case-list key names, in the page's language: a channel, category,
    severity, department or handler by its name, a day or week as written, a state
    (met, breached, ...) in words; an unknown part as it is."""
    dimension, _, rest = key.partition(":")
    names = view.names
    if dimension == "channel":
        return view.channels.get(rest, rest)
    if dimension == "category" and rest != "none":
        return names.categories.get(rest, rest)
    if dimension == "severity":
        return names.severities.get(rest, rest)
    if dimension == "department" and rest != "none":
        return next((n for i, n in names.departments.items() if str(i) == rest), rest)
    if dimension == "handler" and rest != "none":
        return next((n for i, n in names.users.items() if str(i) == rest), rest)
    if dimension in ("day", "week", "month", "level", "product", "third_party"):
        return rest
    parts = [
        view.text(KEY_WORDS[p]) if p in KEY_WORDS else p for p in (rest or dimension).split(":")
    ]
    return " · ".join(parts)


def _row_label(view: View, row: Row) -> str:
    """A row's label in the page's language where the console knows the code's name."""
    named = key_label(view, row.key)
    dimension, _, rest = row.key.partition(":")
    return row.label if named == rest and dimension not in ("day", "week", "month") else named


def _point_label(point: TrendPoint) -> str:
    """A trend bucket on the axis: 10-03, 2026-W41, 2026-10."""
    bucket, _, name = point.key.partition(":")
    return point.start.strftime("%m-%d") if bucket == "day" else name


def _breakdown(metric: Metric | None, dimension: str) -> list[Row]:
    if metric is None:
        return []
    found: Breakdown | None = next((b for b in metric.breakdowns if b.dimension == dimension), None)
    return list(found.rows) if found else []


def _point(view: View, metric: str, unit: str, row: Row | TrendPoint, label: str) -> dict[str, Any]:
    return {
        "value": row.value,
        "text": format_figure(view.locale, unit, row.value),
        "url": view.link(metric, row.key),
        "label": label,
    }


def _series(
    view: View,
    metric: str,
    unit: str,
    items: Iterable[tuple[Row | TrendPoint, str]],
    *,
    name: str,
    kind: str = "bar",
) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "unit": unit,
        "data": [_point(view, metric, unit, item, label) for item, label in items],
    }


def _chart(
    chart_id: str, title: str, kind: str, categories: list[str], series: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": chart_id,
        "title": title,
        "data": {"kind": kind, "title": title, "categories": categories, "series": series},
        "empty": not any(point["value"] for s in series for point in s["data"]),
    }


def _trend_chart(view: View, metrics: dict[str, Metric]) -> dict[str, Any]:
    volume, resolved, on_time = (metrics.get(m) for m in ("volume", "resolved", "on_time_rate"))
    points = volume.trend if volume else []
    labels = [_point_label(p) for p in points]
    series = []
    for metric, kind, unit in (
        (volume, "bar", "count"),
        (resolved, "bar", "count"),
        (on_time, "line", "rate"),
    ):
        if metric is not None:
            trend = metric.trend
            series.append(
                _series(
                    view,
                    metric.name,
                    unit,
                    zip(trend, labels, strict=False),
                    name=metric_title(view.locale, metric.name),
                    kind=kind,
                )
            )
    return _chart("trend", view.text(N_("Received and resolved")), "bars", labels, series)


def _share_chart(
    view: View,
    chart_id: str,
    title: str,
    metric: Metric | None,
    rows: list[Row],
    kind: str,
    unit: str = "count",
) -> dict[str, Any]:
    labelled = [(row, _row_label(view, row)) for row in rows]
    name = metric.name if metric else "volume"
    series = [_series(view, name, unit, labelled, name=title, kind=kind)]
    for item, (row, _) in zip(series[0]["data"], labelled, strict=True):
        if row.share is not None:
            item["share"] = format_figure(view.locale, "rate", row.share)
    return _chart(chart_id, title, kind, [label for _, label in labelled], series)


def _pareto_chart(view: View, metric: Metric | None) -> dict[str, Any]:
    rows = _breakdown(metric, "category")
    if metric is not None and not rows and metric.breakdowns:
        rows = list(metric.breakdowns[0].rows)
    labelled = [(row, _row_label(view, row)) for row in rows]
    labels = [label for _, label in labelled]
    bars = _series(view, "pareto", "count", labelled, name=view.text(N_("Cases")))
    cumulative = {
        "name": view.text(N_("Cumulative share")),
        "type": "line",
        "unit": "rate",
        "data": [
            {
                "value": row.cumulative_share,
                "text": format_figure(view.locale, "rate", row.cumulative_share),
                "url": view.link("pareto", row.key),
                "label": label,
            }
            for row, label in labelled
        ],
    }
    return _chart("pareto", metric_title(view.locale, "pareto"), "bars", labels, [bars, cumulative])


def _ranking(view: View, metric: Metric | None) -> dict[str, Any]:
    rows = _breakdown(metric, "handler")
    if metric is not None and not rows and metric.breakdowns:
        rows = list(metric.breakdowns[0].rows)
    minimum = metric.figures.get("min_sample") if metric else None
    listed = []
    for row in rows:
        figures = row.figures
        listed.append(
            {
                "name": _row_label(view, row),
                "ranked": bool(figures.get("ranked", 1)),
                "resolved": format_figure(view.locale, "count", row.count or row.value or 0),
                "on_time": format_figure(view.locale, "rate", figures.get("on_time_rate")),
                "satisfaction": format_figure(view.locale, "rate", figures.get("satisfaction")),
                "url": view.link("handler_ranking", row.key),
            }
        )
    return {"rows": listed, "min_sample": minimum}


def _figure_links(
    view: View,
    metric: Metric | None,
    entries: Iterable[tuple[str, str | None, str, float | None]],
) -> list[dict[str, str]]:
    """Named figures of a metric (title, case-list key, unit, value), each a link."""
    if metric is None:
        return []
    return [
        {
            "title": view.text(title),
            "value": format_figure(view.locale, unit, value),
            "url": view.link(metric.name, key),
        }
        for title, key, unit, value in entries
    ]


def dashboard(view: View, summary: Summary) -> dict[str, Any]:
    """Everything the dashboard template shows of `summary`."""
    metrics = summary.metrics
    volume = metrics.get("volume")
    satisfaction = metrics.get("satisfaction")
    followup = metrics.get("followup")
    on_time = metrics.get("on_time_rate")
    top_categories = [row for row in _breakdown(volume, "category") if row.parent is None]
    done = followup.figures if followup else {}
    on_time_done = followup.numerator if followup else None
    answered = satisfaction.figures if satisfaction else {}
    return {
        "cards": [_card(view, metrics[name]) for name in CARDS if name in metrics],
        "charts": [
            _trend_chart(view, metrics),
            _share_chart(
                view,
                "channels",
                view.text(N_("Channels")),
                volume,
                _breakdown(volume, "channel"),
                "pie",
            ),
            _share_chart(
                view, "categories", view.text(N_("Categories")), volume, top_categories, "bar"
            ),
            _pareto_chart(view, metrics.get("pareto")),
            _share_chart(
                view,
                "satisfaction",
                view.text(N_("Satisfaction answers")),
                satisfaction,
                _breakdown(satisfaction, "answer"),
                "bar",
            ),
            _share_chart(
                view,
                "followup",
                view.text(N_("Follow-up outcomes")),
                followup,
                _breakdown(followup, "outcome"),
                "bar",
            ),
            _share_chart(
                view,
                "on-time",
                view.text(N_("On time by target")),
                on_time,
                _breakdown(on_time, "target"),
                "bar",
                "rate",
            ),
        ],
        "satisfaction": _figure_links(
            view,
            satisfaction,
            [
                (N_("Response rate"), None, "rate", answered.get("response_rate")),
                (N_("Satisfied share"), None, "rate", answered.get("satisfied_share")),
            ],
        ),
        "followup": _figure_links(
            view,
            followup,
            [
                (N_("Done on time"), "followup:on_time", "count", on_time_done),
                (N_("Done late"), "followup:late", "count", done.get("done_late")),
                (N_("Open and overdue"), "followup:open", "count", done.get("open_overdue")),
                (
                    N_("Unresolved at follow-up"),
                    "outcome:unresolved",
                    "rate",
                    done.get("unresolved_rate"),
                ),
            ],
        ),
        "ranking": _ranking(view, metrics.get("handler_ranking")),
    }


def period_text(start: dt.date, end: dt.date) -> str:
    """`2026-10-01 – 2026-10-31` (ISO days read the same in both languages)."""
    return start.isoformat() if start == end else f"{start.isoformat()} – {end.isoformat()}"
