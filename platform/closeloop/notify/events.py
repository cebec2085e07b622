"""The events Closeloop notifies about, who they are for, and the variables their
templates may use.

Every template is rendered with the common variables below plus its event's own;
a variable the caller does not give is an empty string, so a template that only
uses declared variables always renders. A template that names any other variable
is refused when it is saved.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "ACKNOWLEDGEMENT",
    "ASSIGNMENT",
    "CHANNELS",
    "COMMON_VARIABLES",
    "CORRELATION_ALERT",
    "CUSTOMER_EVENTS",
    "ESCALATION",
    "EVENTS",
    "EVENT_VARIABLES",
    "FOLLOWUP_SCHEDULED",
    "INFO_REQUEST",
    "LOCALES",
    "PLUGIN_DISABLED",
    "PLUGIN_NOTICE",
    "PROGRESS_UPDATE",
    "RESULT",
    "SATISFACTION_SURVEY",
    "SCHEDULED_REPORT",
    "SLA_BREACH",
    "SLA_WARNING",
    "STAFF_EVENTS",
    "locale_of",
    "sample_context",
]

# Customer-facing events.
ACKNOWLEDGEMENT: Final = "acknowledgement"
PROGRESS_UPDATE: Final = "progress_update"
INFO_REQUEST: Final = "info_request"
RESULT: Final = "result"
SATISFACTION_SURVEY: Final = "satisfaction_survey"
FOLLOWUP_SCHEDULED: Final = "followup_scheduled"
# Staff alerts.
ASSIGNMENT: Final = "assignment"
SLA_WARNING: Final = "sla_warning"
SLA_BREACH: Final = "sla_breach"
ESCALATION: Final = "escalation"
# Staff alerts from plugins (closeloop.plugins).
PLUGIN_DISABLED: Final = "plugin_disabled"
CORRELATION_ALERT: Final = "correlation_alert"
PLUGIN_NOTICE: Final = "plugin_notice"
# The tenant's weekly and monthly report e-mails (closeloop.reports.mailing).
SCHEDULED_REPORT: Final = "scheduled_report"

CUSTOMER_EVENTS: Final = (
    ACKNOWLEDGEMENT,
    PROGRESS_UPDATE,
    INFO_REQUEST,
    RESULT,
    SATISFACTION_SURVEY,
    FOLLOWUP_SCHEDULED,
)
STAFF_EVENTS: Final = (
    ASSIGNMENT,
    SLA_WARNING,
    SLA_BREACH,
    ESCALATION,
    PLUGIN_DISABLED,
    CORRELATION_ALERT,
    PLUGIN_NOTICE,
    SCHEDULED_REPORT,
)
EVENTS: Final = CUSTOMER_EVENTS + STAFF_EVENTS

CHANNELS: Final = ("email", "inbox", "webhook")
LOCALES: Final = ("zh-CN", "en")

# Given to every template: the tenant, and the case when there is one (else "").
COMMON_VARIABLES: Final[dict[str, str]] = {
    "tenant_name": "Acme 售后",
    "case_number": "2026110001",
    "case_title": "洗衣机漏水 Washing machine leaks",
    "case_status": "in_progress",
    "severity": "紧急",
    "recipient_name": "王芳",
}

# Per event: its own variables with a sample value (used to check templates on save).
EVENT_VARIABLES: Final[dict[str, dict[str, str]]] = {
    ACKNOWLEDGEMENT: {"reply_by": "2026-11-27 10:00"},
    PROGRESS_UPDATE: {"message": "The technician visits tomorrow."},
    INFO_REQUEST: {"message": "Please send a photo of the warranty card."},
    RESULT: {"message": "A replacement was shipped.", "solution": "replacement"},
    SATISFACTION_SURVEY: {"survey_url": "https://example.com/public/surveys/abc"},
    FOLLOWUP_SCHEDULED: {"followup_at": "2026-12-02"},
    ASSIGNMENT: {"assigned_by": "user:0000", "note": "Please call the customer today."},
    SLA_WARNING: {"target": "resolution", "due_at": "2026-11-27 18:00", "percent": "80"},
    SLA_BREACH: {"target": "resolution", "due_at": "2026-11-27 18:00", "overdue": "2h"},
    ESCALATION: {"level": "2", "reason": "resolution overdue"},
    PLUGIN_DISABLED: {"plugin": "retail", "failures": "5", "error": "timeout: took over 2 s"},
    CORRELATION_ALERT: {
        "plugin": "manufacturing",
        "label": "batch B-2026-17",
        "count": "3",
        "window_minutes": "10080",
    },
    SCHEDULED_REPORT: {
        "report_name": "周报 Weekly report",
        "period_from": "2026-11-23",
        "period_to": "2026-11-29",
        "key_figures": "投诉总量 Cases received: 412 (+32)\n处理及时率 On-time rate: 93.0%",
    },
    PLUGIN_NOTICE: {
        "plugin": "internet",
        "subject": "Data-security complaint",
        "message": "A data-security complaint was registered.",
    },
}


def variables(event: str) -> dict[str, str]:
    """Every variable a template of `event` may use, with sample values."""
    return {**COMMON_VARIABLES, **EVENT_VARIABLES[event]}


def sample_context(event: str) -> dict[str, Any]:
    return dict(variables(event))


def locale_of(value: str | None, default: str = "zh-CN") -> str:
    """`en`, `en-US`, `en_GB` → `en`; `zh`, `zh-CN`, `zh-Hans` → `zh-CN`; else `default`."""
    if not value:
        return default
    lowered = value.lower().replace("_", "-")
    if lowered.startswith("en"):
        return "en"
    if lowered.startswith("zh"):
        return "zh-CN"
    return default
