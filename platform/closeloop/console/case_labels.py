"""What the case screens call things: statuses, actions, timeline entries, SLA clocks,
delivery states, in the page's language. Codes without a label show as the code."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_timedelta

from closeloop.console.i18n import N_, babel_formats, gettext

__all__ = [
    "ACTION_KEYS",
    "ACTION_LABELS",
    "CLOCK_EVENTS",
    "CLOCK_STATES",
    "CLOCK_TARGETS",
    "DELIVERY",
    "EVENT_LABELS",
    "FIELD_LABELS",
    "NOTICES",
    "OUTCOMES",
    "RESPONSIBLE",
    "STATUS_LABELS",
    "due_text",
    "label",
]

STATUS_LABELS = {
    "registered": N_("Registered"),
    "verified": N_("Verified"),
    "waiting_customer": N_("Waiting on customer"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "feedback_received": N_("Feedback received"),
    "followup_scheduled": N_("Follow-up scheduled"),
    "reopened": N_("Reopened"),
    "closed": N_("Closed"),
    "closed_invalid": N_("Closed as invalid"),
    "archived": N_("Archived"),
    "merged": N_("Merged"),
}
ACTION_LABELS = {
    "verify": N_("Verify"),
    "invalidate": N_("Invalidate"),
    "request_info": N_("Request information"),
    "resume": N_("Resume"),
    "assign": N_("Assign"),
    "start": N_("Start"),
    "progress": N_("Progress note"),
    "resolve": N_("Resolve"),
    "feedback": N_("First feedback"),
    "schedule_followup": N_("Schedule follow-up"),
    "followup": N_("Follow-up"),
    "reopen": N_("Reopen"),
    "archive": N_("Archive"),
    "annotate": N_("Annotate"),
    "merge": N_("Merge"),
}
# Timeline entries that are not actions.
EVENT_LABELS = {
    **ACTION_LABELS,
    "registered": N_("Registered"),
    "edited": N_("Details edited"),
    "attachment_added": N_("Attachment added"),
    "plugin_finding": N_("Plugin finding"),
    "plugin_flag": N_("Plugin flag"),
    "plugin_email": N_("Plugin e-mail"),
    "correlation_alert": N_("Correlation alert"),
    "sla_breach": N_("SLA breached"),
    "escalation": N_("Escalation"),
    "notification": N_("Notification"),
}
# Notifications (`closeloop.notify.events`).
NOTICES = {
    "acknowledgement": N_("Acknowledgement"),
    "progress_update": N_("Progress update"),
    "info_request": N_("Request for information"),
    "result": N_("Result notice"),
    "satisfaction_survey": N_("Satisfaction survey"),
    "followup_scheduled": N_("Follow-up notice"),
    "assignment": N_("Assignment notice"),
    "sla_warning": N_("Time limit warning"),
    "sla_breach": N_("Time limit breached"),
    "escalation": N_("Escalation notice"),
    "plugin_disabled": N_("Plugin switched off"),
    "correlation_alert": N_("Correlation alert"),
    "plugin_notice": N_("Plugin notice"),
}
# SLA clock history (`sla_clock_events.type`).
CLOCK_EVENTS = {
    "start": N_("Clock started"),
    "pause": N_("Clock paused"),
    "resume": N_("Clock resumed"),
    "restart": N_("Clock restarted"),
    "stop": N_("Clock stopped"),
    "breach": N_("SLA breached"),
    "escalation": N_("Escalation"),
    "recompute": N_("Clock recomputed"),
    "cycle": N_("New clock cycle"),
}
CLOCK_TARGETS = {
    "first_response": N_("First response"),
    "customer_update": N_("Customer update"),
    "resolution": N_("Resolution"),
    "customer_contact": N_("Customer contact"),
    "first_feedback": N_("First feedback"),
    "followup": N_("Follow-up"),
    "second_handling": N_("Second handling"),
}
CLOCK_STATES = {
    "running": N_("Running"),
    "paused": N_("Paused"),
    "stopped": N_("Stopped"),
    "breached": N_("Breached"),
}
DELIVERY = {
    "pending": N_("Pending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
}
OUTCOMES = {
    "resolved_satisfied": N_("Resolved, customer satisfied"),
    "partially_resolved": N_("Partly resolved, customer basically satisfied"),
    "unresolved": N_("Unresolved, needs more work"),
}
RESPONSIBLE = {
    "internal": N_("Our company"),
    "customer": N_("The customer"),
    "third_party": N_("A third party"),
}
# The case page's key for each common action (static/js/case.js).
ACTION_KEYS = {
    "verify": "v",
    "request_info": "i",
    "assign": "a",
    "start": "s",
    "progress": "p",
    "resolve": "r",
    "feedback": "b",
    "followup": "f",
    "reopen": "o",
    "archive": "h",
    "annotate": "n",
}
FIELD_LABELS = {
    "title": N_("Title"),
    "description": N_("Description"),
    "category_id": N_("Category"),
    "severity_id": N_("Severity"),
    "product": N_("Product"),
    "problem_at": N_("When it happened"),
    "problem_place": N_("Where it happened"),
    "demands": N_("Demands"),
    "extra": N_("Extra fields"),
    "note": N_("Note"),
    "question": N_("Question"),
    "reason": N_("Reason"),
    "explanation": N_("Explanation"),
    "root_cause": N_("Root cause"),
    "responsible_party": N_("Responsible party"),
    "third_party": N_("Third party"),
    "solution_type": N_("Solution"),
    "result": N_("Result"),
    "satisfaction": N_("Satisfaction"),
    "outcome": N_("Outcome"),
    "deadline": N_("Deadline"),
    "after": N_("Not before"),
    "plugin": N_("Plugin"),
    "hook": N_("Hook"),
    "status": N_("Status"),
    "filename": N_("File"),
    "into_number": N_("Merged into"),
}


def label(locale: str, labels: dict[str, str], code: str | None) -> str:
    """`code`'s label in `locale`; an unknown code is shown as it is."""
    if code is None:
        return ""
    found = labels.get(code)
    return gettext(locale, found) if found is not None else code


def due_text(locale: str, due: dt.datetime, now: dt.datetime) -> str:
    """ "Due in 2 hours" / "overdue by 35 minutes", the way the page's language says it
    (console.js keeps it current from the element's due time)."""
    span = format_timedelta(
        abs(due - now), threshold=1.5, format="long", locale=babel_formats(locale)
    )
    if due >= now:
        return gettext(locale, N_("due in %(span)s"), span=span)
    return gettext(locale, N_("overdue by %(span)s"), span=span)
