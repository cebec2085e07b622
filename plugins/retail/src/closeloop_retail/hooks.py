"""The hook implementations: each reads the case into a `Claim` (dates in the tenant's
time zone) and hands it to the pure rules in `closeloop_retail.rules`."""

from __future__ import annotations

from typing import Any

import msgspec

from closeloop import hookimpl
from closeloop.plugins.types import (
    CaseEventSnapshot,
    CaseSnapshot,
    Classification,
    Entitlement,
    FieldIssue,
    FieldSpec,
    PluginAction,
    ResolutionOption,
    TenantInfo,
)
from closeloop_retail import rules
from closeloop_retail.claim import Claim, claim_from_case
from closeloop_retail.settings import Settings

__all__ = [
    "check_entitlement",
    "classify_case",
    "extra_fields",
    "on_case_event",
    "suggest_resolution",
    "validate_intake",
]


def _settings(settings: Any) -> Settings:
    if isinstance(settings, Settings):
        return settings
    return msgspec.convert(settings or {}, Settings)


def _claim(case: CaseSnapshot, tenant: TenantInfo | None) -> Claim:
    return claim_from_case(case, tenant.timezone if tenant is not None else None)


@hookimpl
def extra_fields(kind: str) -> list[FieldSpec]:
    return [msgspec.convert(spec, FieldSpec) for spec in rules.extra_field_specs(kind)]


@hookimpl
def validate_intake(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[FieldIssue]:
    issues = rules.intake_issues(_claim(case, tenant), _settings(settings))
    return [msgspec.convert(issue, FieldIssue) for issue in issues]


@hookimpl
def classify_case(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> Classification | None:
    found = rules.classification(_claim(case, tenant), _settings(settings))
    return None if found is None else msgspec.convert(found, Classification)


@hookimpl
def check_entitlement(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[Entitlement]:
    decisions = rules.entitlement(_claim(case, tenant), _settings(settings)) or []
    return [msgspec.convert(decision, Entitlement) for decision in decisions]


@hookimpl
def suggest_resolution(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[ResolutionOption]:
    options = rules.resolution_options(_claim(case, tenant), _settings(settings))
    return [msgspec.convert(option, ResolutionOption) for option in options]


@hookimpl
def on_case_event(
    event: CaseEventSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[PluginAction]:
    """Flag a resolution that contradicts the plugin's own findings: a delivery delay not
    put on the carrier, a refund the return policy does not grant."""
    labels = rules.lifecycle_flags(
        _claim(event.case, tenant),
        _settings(settings),
        to_status=event.to_status,
        from_status=event.from_status,
        resolution=event.case.resolution,
    )
    return [PluginAction(type="flag", label=label) for label in labels]
