"""The hook implementations: each adapts the case, the tenant and the settings to the
pure rules in `closeloop_internet.rules` and returns the core's result types."""

from __future__ import annotations

from typing import Any

from closeloop import hookimpl
from closeloop.plugins.types import (
    CaseEventSnapshot,
    CaseSnapshot,
    Classification,
    Correlation,
    FieldIssue,
    FieldSpec,
    PluginAction,
    SeverityAssessment,
    Suggestion,
    TenantInfo,
)
from closeloop_internet import rules
from closeloop_internet.settings import Settings

__all__ = [
    "assess_severity",
    "classify_case",
    "correlate_case",
    "extra_fields",
    "on_case_event",
    "validate_intake",
]

FIELDS = [
    FieldSpec(name="affected_users", type="integer", description="users affected (estimate)"),
    FieldSpec(
        name="scope",
        type="enum",
        choices=list(rules.SCOPES),
        description="who is affected: one user, a region, or everyone",
    ),
    FieldSpec(name="duration_minutes", type="integer", description="how long it has lasted"),
    FieldSpec(
        name="service_tier",
        type="enum",
        choices=list(rules.TIERS),
        description="the customer's service plan",
    ),
    FieldSpec(name="data_exposure", type="boolean", description="customer data exposed"),
    FieldSpec(name="payment_impact", type="boolean", description="payments or charges affected"),
    FieldSpec(name="service", type="string", description="the service concerned, e.g. cdn"),
    FieldSpec(name="region", type="string", description="the region concerned, e.g. east-china"),
]
INCIDENT_FIELDS = (
    "affected_users",
    "scope",
    "duration_minutes",
    "service_tier",
    "data_exposure",
    "payment_impact",
)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _levels(tenant: TenantInfo) -> list[tuple[str, int]]:
    return [(level.code, level.rank) for level in tenant.severities]


def _is_security(case: CaseSnapshot, settings: Settings) -> bool:
    exposed = case.extra.get("data_exposure") is True
    return rules.is_security_case(case.category_code, exposed, settings.security_categories)


@hookimpl
def extra_fields(kind: str) -> list[FieldSpec]:
    """The incident fields, on every kind of case but suggestions."""
    return [] if kind == "suggestion" else list(FIELDS)


@hookimpl
def validate_intake(case: CaseSnapshot) -> list[FieldIssue]:
    """Negative counts or durations refuse the intake; inconsistent reach is a warning."""
    return [
        FieldIssue(field=field, message=message, level="error" if level == "error" else "warning")
        for field, message, level in rules.validate_numbers(case.extra)
    ]


@hookimpl
def classify_case(case: CaseSnapshot) -> Classification | None:
    """System failure, billing dispute or information security, from title and text."""
    found = rules.classify_text(f"{case.title}\n{case.description}")
    if found is None:
        return None
    return Classification(
        category=Suggestion(code=found.code, reason=found.reason, confidence=found.confidence)
    )


@hookimpl
def assess_severity(
    case: CaseSnapshot, settings: Settings, tenant: TenantInfo
) -> SeverityAssessment | None:
    """P1-P4 from the incident fields, on the tenant's levels; a data-security complaint
    is at least the second-highest level. None when the case says nothing to judge by."""
    levels = _levels(tenant)
    security = _is_security(case, settings)
    extra = case.extra
    if not levels or not (security or any(name in extra for name in INCIDENT_FIELDS)):
        return None
    limits = rules.Limits(
        p1_users=settings.p1_users,
        p2_users=settings.p2_users,
        p3_users=settings.p3_users,
        long_outage_minutes=settings.long_outage_minutes,
        max_raise=settings.max_raise,
    )
    found = rules.assess_priority(
        affected_users=_int(extra.get("affected_users")),
        scope=_str(extra.get("scope")),
        duration_minutes=_int(extra.get("duration_minutes")),
        service_tier=_str(extra.get("service_tier")),
        data_exposure=extra.get("data_exposure") is True,
        payment_impact=extra.get("payment_impact") is True,
        limits=limits,
    )
    overrides = {str(priority): level for priority, level in settings.severity_map.items()}
    code = rules.level_for_priority(found.priority, levels, overrides)
    reasons = [f"{found.priority} -> {code}", *found.reasons]
    floor = rules.second_highest(levels)
    rank = dict(levels)
    if security and code is not None and floor is not None and rank[code] < rank[floor]:
        code = floor
        reasons.append(f"data-security complaint: at least {floor}")
    if code is None:
        return None
    return SeverityAssessment(severity=code, reasons=reasons)


@hookimpl
def correlate_case(case: CaseSnapshot, settings: Settings) -> Correlation | None:
    """Reports of one service and region within the window are one outage."""
    category = case.category_code
    if category:
        if not any(
            category == code or category.startswith(f"{code}.")
            for code in settings.outage_categories
        ):
            return None
    else:
        found = rules.classify_text(f"{case.title}\n{case.description}")
        if found is not None and found.code != "system_failure":
            return None
    service, region = _str(case.extra.get("service")), _str(case.extra.get("region"))
    key = rules.outage_key(service, region, _str(case.extra.get("scope")))
    if key is None:
        return None
    place = key.rsplit(":", 1)[1]
    return Correlation(
        key=key,
        label=f"outage of {service} ({place})",
        window_minutes=settings.outage_window_minutes,
        threshold=settings.outage_threshold,
    )


@hookimpl
def on_case_event(
    event: CaseEventSnapshot, settings: Settings, tenant: TenantInfo
) -> list[PluginAction]:
    """At registration, a data-security complaint is mailed to the security contact
    (flagged on the case when the tenant has set none)."""
    case = event.case
    if event.type != "registered" or not _is_security(case, settings):
        return []
    if not settings.security_contact:
        return [PluginAction(type="flag", label="data-security complaint: no security contact set")]
    number = case.number or str(case.id)
    if tenant.locale.startswith("zh"):
        subject = f"[信息安全] 案件 {number}: {case.title}"
        body = (
            f"收到一件信息安全投诉,请及时处理。\n案件编号: {number}\n"
            f"标题: {case.title}\n分类: {case.category_code or '未分类'}\n"
            f"数据暴露: {'是' if case.extra.get('data_exposure') is True else '未知'}"
        )
    else:
        subject = f"[Security] Case {number}: {case.title}"
        body = (
            f"A data-security complaint was registered.\nCase: {number}\n"
            f"Title: {case.title}\nCategory: {case.category_code or 'none'}\n"
            f"Data exposed: {'yes' if case.extra.get('data_exposure') is True else 'unknown'}"
        )
    return [
        PluginAction(type="notify_email", to=settings.security_contact, subject=subject, body=body)
    ]
