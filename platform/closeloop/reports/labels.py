"""What a report's figures are called in each language the tenant may choose (zh-CN, en):
the metrics, their units, the dimensions of their breakdowns and the column headers of
the workbook, the CSV and the e-mail. `METRIC_NAMES` is the one table of metric names:
the PDF, the workbook, the CSV, the e-mail, its charts and the console's dashboard all
name a metric from it. The figures' own row labels (a channel's name, a category's)
come from the summary, in the tenant's configuration and the language asked for.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "COLUMNS",
    "DIMENSIONS",
    "FREQUENCIES",
    "GROUPS",
    "METRIC_NAMES",
    "UNITS",
    "label",
]

# (zh-CN, en) per metric, by definition name (docs/reports.md). The volume is the
# practice's "投诉总量" (投诉总量、各渠道投诉占比、投诉类型分布...).
METRIC_NAMES: Final[dict[str, tuple[str, str]]] = {
    "volume": ("投诉总量", "Cases received"),
    "resolved": ("已解决", "Cases resolved"),
    "complaint_rate": ("万单投诉率", "Complaints per 10,000 orders"),
    "first_response_time": ("首次响应时长", "First response time"),
    "resolution_time": ("解决时长", "Resolution time"),
    "close_time": ("结案时长", "Time to close"),
    "on_time_rate": ("处理及时率", "On-time rate"),
    "fcr_rate": ("一次性解决率", "First-contact resolution"),
    "reopen_rate": ("重开率", "Reopen rate"),
    "repeat_rate": ("重复投诉率", "Repeat-complaint rate"),
    "escalations": ("升级次数", "Escalations"),
    "made_major": ("超期升为重大", "Made major by age"),
    "satisfaction": ("客户满意度", "Satisfaction"),
    "followup": ("回访按时完成率", "Follow-ups done on time"),
    "responsibility": ("责任归属", "Responsibility"),
    "handler_ranking": ("处理人排名", "Handler ranking"),
    "pareto": ("高频投诉问题（类别）", "Top recurring problems (categories)"),
    "pareto_products": ("高频投诉问题（产品）", "Top recurring problems (products)"),
}

UNITS: Final[dict[str, tuple[str, str]]] = {
    "count": ("件", "count"),
    "rate": ("比率", "rate"),
    "seconds": ("秒", "seconds"),
    "per_10000": ("每万单", "per 10,000"),
}

DIMENSIONS: Final[dict[str, tuple[str, str]]] = {
    "kind": ("类型", "Kind"),
    "channel": ("渠道", "Channel"),
    "category": ("类别", "Category"),
    "severity": ("紧急程度", "Severity"),
    "department": ("部门", "Department"),
    "handler": ("处理人", "Handler"),
    "target": ("时限目标", "SLA target"),
    "level": ("升级级别", "Level"),
    "answer": ("评价", "Answer"),
    "outcome": ("回访结果", "Outcome"),
    "party": ("责任方", "Responsible party"),
    "third_party": ("第三方", "Third party"),
    "product": ("产品", "Product"),
}

# The workbook's sheets: (name, (zh-CN, en) title, the metrics it shows). The overview
# sheet lists every metric's headline; "trend" holds the trend points.
GROUPS: Final[tuple[tuple[str, tuple[str, str], tuple[str, ...]], ...]] = (
    ("volume", ("投诉总量", "Volume"), ("volume", "resolved", "complaint_rate")),
    (
        "timeliness",
        ("时效", "Timeliness"),
        ("first_response_time", "resolution_time", "close_time", "on_time_rate"),
    ),
    (
        "quality",
        ("质量", "Quality"),
        ("fcr_rate", "reopen_rate", "repeat_rate", "escalations", "made_major"),
    ),
    ("satisfaction", ("满意度与回访", "Satisfaction"), ("satisfaction", "followup")),
    ("responsibility", ("责任归属", "Responsibility"), ("responsibility",)),
    ("handlers", ("处理人", "Handlers"), ("handler_ranking",)),
    ("problems", ("高频问题", "Top problems"), ("pareto", "pareto_products")),
)

# Column headers by field name.
COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "sheet": ("分表", "Sheet"),
    "metric": ("指标", "Metric"),
    "metric_code": ("指标代码", "Metric code"),
    "unit": ("单位", "Unit"),
    "dimension": ("维度", "Dimension"),
    "key": ("键", "Key"),
    "label": ("项目", "Item"),
    "figure": ("数值名", "Figure"),
    "value": ("数值", "Value"),
    "count": ("件数", "Count"),
    "numerator": ("分子", "Numerator"),
    "denominator": ("分母", "Denominator"),
    "share": ("占比", "Share"),
    "cumulative_share": ("累计占比", "Cumulative share"),
    "previous": ("上期", "Previous period"),
    "change": ("变化", "Change"),
    "start": ("开始日期", "From"),
    "end": ("结束日期", "To"),
    "overview": ("概览", "Overview"),
    "trend": ("趋势", "Trend"),
    "period": ("统计期间", "Period"),
    "previous_period": ("上期", "Previous period"),
    "time_zone": ("时区", "Time zone"),
    "generated_at": ("生成时间", "Generated at"),
    # The trend's series: the metrics' own names.
    "received": METRIC_NAMES["volume"],
    "resolved": METRIC_NAMES["resolved"],
    "on_time": METRIC_NAMES["on_time_rate"],
}

FREQUENCIES: Final[dict[str, tuple[str, str]]] = {
    "weekly": ("周报", "Weekly report"),
    "monthly": ("月报", "Monthly report"),
}


def label(table: dict[str, tuple[str, str]], name: str, locale: str) -> str:
    """`name`'s label in `locale` (`en`, else Chinese); the name itself when unknown."""
    pair = table.get(name)
    if pair is None:
        return name
    return pair[1] if locale == "en" else pair[0]
