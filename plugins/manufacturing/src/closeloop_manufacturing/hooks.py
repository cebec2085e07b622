"""The hook implementations: each reads the case into a `Claim` (dates in the tenant's
time zone) and hands it to the pure rules in `closeloop_manufacturing.rules`."""

from __future__ import annotations

from typing import Any

import msgspec

from closeloop import hookimpl
from closeloop.plugins.types import (
    CaseEventSnapshot,
    CaseSnapshot,
    Correlation,
    Entitlement,
    FieldIssue,
    FieldSpec,
    PluginAction,
    ResolutionOption,
    TenantInfo,
)
from closeloop_manufacturing import rules
from closeloop_manufacturing.claim import Claim, claim_from_case
from closeloop_manufacturing.settings import Settings

__all__ = [
    "check_entitlement",
    "correlate_case",
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
def check_entitlement(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> Entitlement | None:
    decision = rules.entitlement(_claim(case, tenant), _settings(settings))
    return None if decision is None else msgspec.convert(decision, Entitlement)


@hookimpl
def suggest_resolution(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[ResolutionOption]:
    options = rules.resolution_options(_claim(case, tenant), _settings(settings))
    return [msgspec.convert(option, ResolutionOption) for option in options]


@hookimpl
def correlate_case(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> Correlation | None:
    found = rules.batch_correlation(_claim(case, tenant), _settings(settings))
    return None if found is None else msgspec.convert(found, Correlation)


@hookimpl
def on_case_event(
    event: CaseEventSnapshot, settings: Any, tenant: TenantInfo | None = None
) -> list[PluginAction]:
    """Flag a resolution that contradicts the warranty decision, and a reopened
    in-warranty quality defect (a repeat failure may call for a replacement)."""
    labels = rules.lifecycle_flags(
        _claim(event.case, tenant),
        _settings(settings),
        to_status=event.to_status,
        from_status=event.from_status,
        resolution=event.case.resolution,
    )
    return [PluginAction(type="flag", label=label) for label in labels]
