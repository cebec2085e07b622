"""PNG charts of a report `Summary` for the scheduled e-mail: the trend of cases received
and resolved with the on-time line, the channel shares, and the Pareto of problems.

Rendered with matplotlib's Agg backend (no display, one `Figure` per chart, nothing
global, so threads may render side by side) in Noto Sans CJK, so Chinese labels show
as text, not boxes. The font is Debian's `fonts-noto-cjk`; without it `FontMissing`
says so (matplotlib would otherwise draw empty squares and only warn).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from closeloop.reports import labels
from closeloop.reports.labels import COLUMNS, label
from closeloop.reports.schemas import Metric, Row, Summary

__all__ = [
    "CJK_FAMILIES",
    "FontMissing",
    "channel_chart",
    "cjk_font",
    "pareto_chart",
    "report_charts",
    "trend_chart",
]

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC")
_PALETTE = ("#3B6FB6", "#6BAF5B", "#E39B2E", "#C75450", "#8C6BB1", "#4FA3A5", "#A0A0A0")
_MAX_SLICES = 7  # channel shares: the largest six and "others"
_MAX_BARS = 12  # Pareto: the most frequent twelve
_DPI = 110


class FontMissing(RuntimeError):
    """No Noto Sans CJK font is installed (Debian: `apt-get install fonts-noto-cjk`)."""


@functools.cache
def cjk_font() -> str:
    """The path of an installed Noto Sans CJK font; `FontMissing` when there is none."""
    for family in CJK_FAMILIES:
        try:
            found = str(
                font_manager.findfont(
                    font_manager.FontProperties(family=family), fallback_to_default=False
                )
            )
        except ValueError:
            continue
        if "NotoSansCJK" in found.replace(" ", ""):
            return found
    installed = _system_font()
    if installed is not None:
        return installed
    raise FontMissing(
        "the report charts need the Noto Sans CJK font for Chinese text and none is "
        "installed: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)"
    )


def _system_font() -> str | None:
    """Look through the system's font folders, where matplotlib's font cache was made
    before the font was installed."""
    for path in sorted(font_manager.findSystemFonts()):
        if "NotoSansCJK-Regular" in path or "NotoSansCJKsc-Regular" in path:
            return str(path)
    return None


def _figure(width: float = 7.5, height: float = 3.6) -> tuple[Figure, font_manager.FontProperties]:
    font = font_manager.FontProperties(fname=cjk_font())
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, font


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()


def _style(axes: object, font: font_manager.FontProperties) -> None:
    for text in (*axes.get_xticklabels(), *axes.get_yticklabels()):  # type: ignore[attr-defined]
        text.set_fontproperties(font)


def _empty(figure: Figure, font: font_manager.FontProperties, title: str, locale: str) -> None:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(title, fontproperties=font)
    nothing = "No data in this period" if locale == "en" else "本期无数据"
    axes.text(0.5, 0.5, nothing, ha="center", va="center", fontproperties=font, color="#777")


def trend_chart(summary: Summary, *, locale: str) -> bytes:
    """Cases received and resolved per trend bucket (bars) and the on-time rate (line,
    right axis). Reads the `trend` of `volume`, `resolved` and `on_time_rate`."""
    figure, font = _figure()
    title = label(labels.COLUMNS, "trend", locale)
    received = summary.metrics.get("volume")
    if received is None or not received.trend:
        _empty(figure, font, title, locale)
        return _png(figure)
    keys = [point.key for point in received.trend]
    ticks = [point.start.strftime("%m-%d") for point in received.trend]

    def series(metric: Metric | None) -> list[float]:
        by_key = {point.key: point.value for point in metric.trend} if metric else {}
        return [float(by_key.get(key) or 0) for key in keys]

    positions = list(range(len(keys)))
    axes = figure.add_subplot()
    width = 0.4
    axes.bar(
        [x - width / 2 for x in positions],
        series(received),
        width,
        color=_PALETTE[0],
        label=label(COLUMNS, "received", locale),
    )
    axes.bar(
        [x + width / 2 for x in positions],
        series(summary.metrics.get("resolved")),
        width,
        color=_PALETTE[1],
        label=label(COLUMNS, "resolved", locale),
    )
    axes.set_xticks(positions, ticks, rotation=45 if len(keys) > 10 else 0, fontsize=8)
    axes.set_title(title, fontproperties=font)
    on_time = summary.metrics.get("on_time_rate")
    handles, names = axes.get_legend_handles_labels()
    if on_time is not None and on_time.trend:
        by_key = {point.key: point.value for point in on_time.trend}
        right = axes.twinx()
        rates = [by_key.get(key) for key in keys]
        right.plot(
            [x for x, rate in zip(positions, rates, strict=True) if rate is not None],
            [float(rate) for rate in rates if rate is not None],
            color=_PALETTE[2],
            marker="o",
            label=label(COLUMNS, "on_time", locale),
        )
        right.set_ylim(0, 1.05)
        right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        more_handles, more_names = right.get_legend_handles_labels()
        handles, names = handles + more_handles, names + more_names
    axes.legend(handles, names, prop=font, loc="upper left", fontsize=8)
    _style(axes, font)
    return _png(figure)


def _rows(metric: Metric | None, dimension: str) -> list[Row]:
    if metric is None:
        return []
    for breakdown in metric.breakdowns:
        if breakdown.dimension == dimension:
            return list(breakdown.rows)
    return []


def channel_chart(summary: Summary, *, locale: str) -> bytes:
    """The share of cases received per channel (a ring)."""
    figure, font = _figure(6.0, 3.6)
    title = (
        label(labels.METRIC_NAMES, "volume", locale)
        + " · "
        + label(labels.DIMENSIONS, "channel", locale)
    )
    rows = [row for row in _rows(summary.metrics.get("volume"), "channel") if row.count]
    if not rows:
        _empty(figure, font, title, locale)
        return _png(figure)
    rows.sort(key=lambda row: -(row.count or 0))
    if len(rows) > _MAX_SLICES:
        rest = sum(row.count or 0 for row in rows[_MAX_SLICES - 1 :])
        others = "Others" if locale == "en" else "其他"
        rows = [*rows[: _MAX_SLICES - 1], Row(key="others", label=others, count=rest)]
    axes = figure.add_subplot()
    counts = [row.count or 0 for row in rows]
    total = sum(counts)
    wedges, _ = axes.pie(
        counts,
        colors=_PALETTE[: len(rows)],
        startangle=90,
        counterclock=False,
        wedgeprops={"width": 0.45, "edgecolor": "white"},
    )
    legend = [
        f"{row.label}  {count / total:.0%} ({count})"
        for row, count in zip(rows, counts, strict=True)
    ]
    axes.legend(wedges, legend, prop=font, loc="center left", bbox_to_anchor=(1.0, 0.5))
    axes.set_title(title, fontproperties=font)
    axes.set_aspect("equal")
    return _png(figure)


def pareto_chart(summary: Summary, *, locale: str, metric: str = "pareto") -> bytes:
    """The most frequent problems (bars, most first) with the cumulative share (line)."""
    figure, font = _figure()
    title = label(labels.METRIC_NAMES, metric, locale)
    found = summary.metrics.get(metric)
    rows = [row for breakdown in (found.breakdowns if found else []) for row in breakdown.rows]
    rows = [row for row in rows if row.count or row.value][:_MAX_BARS]
    if not rows:
        _empty(figure, font, title, locale)
        return _png(figure)
    positions = list(range(len(rows)))
    axes = figure.add_subplot()
    axes.bar(positions, [float(row.count or row.value or 0) for row in rows], color=_PALETTE[0])
    axes.set_xticks(positions, _short([row.label for row in rows]), rotation=30, ha="right")
    axes.set_title(title, fontproperties=font)
    cumulative = [row.cumulative_share for row in rows if row.cumulative_share is not None]
    if len(cumulative) == len(rows):
        right = axes.twinx()
        right.plot(positions, cumulative, color=_PALETTE[3], marker="o")
        right.set_ylim(0, 1.05)
        right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        right.axhline(0.8, color="#999", linestyle="--", linewidth=0.8)
    _style(axes, font)
    return _png(figure)


def _short(names: Sequence[str], limit: int = 14) -> list[str]:
    return [name if len(name) <= limit else name[: limit - 1] + "…" for name in names]


def report_charts(summary: Summary, *, locale: str) -> dict[str, bytes]:
    """The e-mail's charts by name: `trend`, `channels`, `pareto` (PNG bytes)."""
    return {
        "trend": trend_chart(summary, locale=locale),
        "channels": channel_chart(summary, locale=locale),
        "pareto": pareto_chart(summary, locale=locale),
    }
