"""The hooks Closeloop calls on industry plugins: the source of truth of the contract.

How every hook is called (the guide, docs/plugins.md, explains it with examples):

- Hooks are plain synchronous functions marked with `@hookimpl`
  (`from closeloop import hookimpl`). The core calls each plugin enabled for the
  tenant separately, with keyword arguments only, so an implementation may accept
  any subset of a hook's arguments, in any order.
- Every hook may also accept `settings` (this plugin's settings for the tenant: an
  instance of the plugin's `Settings` Struct, or a dict when it has none) and
  `tenant` (`TenantInfo`).
- Each call has a time budget (`CLOSELOOP_PLUGIN_TIME_BUDGET`, default 2 s). An
  exception, a result of the wrong shape or an overrun is recorded on the case as a
  failed finding and logged with the plugin's name; it never stops an intake or a
  lifecycle action. After the tenant's failure threshold of consecutive failures the
  plugin is disabled for that tenant and its admins are told.
- Returning None (or an empty list) means "nothing to say": no finding is stored.
  Results may be the Structs of `closeloop.plugins.types` or dicts of the same shape.
- Intake hooks (`extra_fields`, `validate_intake`, `classify_case`, `assess_severity`,
  `check_entitlement`, `suggest_resolution`, `correlate_case`) run at intake before the
  case is numbered and stored: `case.number` is None there, `case.id` is the id the
  case will get. Their findings are stored once the case exists; a refused intake
  stores nothing.
- No hook stops at the first non-None result: every enabled plugin is asked, and
  each answer is stored as that plugin's finding.
"""

from __future__ import annotations

from typing import Any

from closeloop.plugins.markers import hookspec
from closeloop.plugins.types import (
    CaseEventSnapshot,
    CaseSnapshot,
    Classification,
    Correlation,
    Entitlement,
    FieldIssue,
    FieldSpec,
    PluginAction,
    ResolutionOption,
    SeverityAssessment,
    TenantInfo,
)

__all__ = [
    "assess_severity",
    "check_entitlement",
    "classify_case",
    "correlate_case",
    "extra_fields",
    "on_case_event",
    "suggest_resolution",
    "validate_intake",
]


@hookspec
def extra_fields(kind: str, settings: Any, tenant: TenantInfo) -> list[FieldSpec] | None:
    """The additional case fields this plugin needs for cases of `kind`.

    Arguments: `kind` (`complaint`, `service_request`, `inquiry`, `suggestion`),
    `settings`, `tenant`.

    Returns: a list of `FieldSpec` (`name`, `type`: string/integer/number/boolean/
    date/datetime/enum, `required`, `choices` for enums, `description`).

    Called when: at intake, before the case is checked; intake validates
    `extra[name]` against every enabled plugin's specs and answers 422 naming
    `extra.<name>` when a value is missing or of the wrong type. Two plugins declaring
    the same name must agree on it. Not stored as a finding.

    Example::

        @hookimpl
        def extra_fields(kind):
            if kind == "complaint":
                return [FieldSpec(name="fault_cause", type="enum", required=False,
                                  choices=["quality_defect", "wear", "misuse"])]
    """


@hookspec
def validate_intake(
    case: CaseSnapshot, tenant_settings: Any, settings: Any, tenant: TenantInfo
) -> list[FieldIssue] | None:
    """Refuse an intake or attach warnings to it.

    Arguments: `case` (the case as it will be stored; `number` is None),
    `tenant_settings` (the same object as `settings`: this plugin's settings for
    the tenant), `settings`, `tenant`.

    Returns: a list of `FieldIssue` (`field`, `message`, `level`: error/warning).

    Called when: at intake, after the core's own checks and `extra_fields`, before
    anything is written. Any `error` refuses the intake: 422 with
    `details.field` = the issue's field, and nothing is stored. Warnings are stored as
    this plugin's finding once the case exists.

    Example::

        @hookimpl
        def validate_intake(case, tenant_settings):
            if "purchase_date" not in case.product:
                return [FieldIssue(field="product.purchase_date",
                                   message="purchase date needed for warranty",
                                   level="warning")]
    """


@hookspec
def classify_case(case: CaseSnapshot, settings: Any, tenant: TenantInfo) -> Classification | None:
    """Suggest a category and a severity, each with a reason and a confidence.

    Arguments: `case`, `settings`, `tenant`.

    Returns: `Classification` (`category` and `severity`, each a `Suggestion`
    `{code, reason, confidence}` or None).

    Called when: at intake, with the other intake hooks (before the case is numbered).
    Suggestions only: stored as a finding and shown on the timeline; the case's
    category and severity stay as they are.

    Example::

        @hookimpl
        def classify_case(case):
            if "快递" in case.description:
                return {"category": {"code": "logistics_delay",
                                     "reason": "mentions the courier", "confidence": 0.7}}
    """


@hookspec
def assess_severity(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo
) -> SeverityAssessment | None:
    """Judge how severe the case is.

    Arguments: `case`, `settings`, `tenant` (`tenant.severities` lists the tenant's
    levels lowest first).

    Returns: `SeverityAssessment` (`severity`: one of the tenant's severity codes,
    `reasons`: list of text).

    Called when: at intake, with the other intake hooks (before the case is numbered).
    The core raises the case's severity to the highest assessed one when that is
    higher than the severity given or defaulted at intake; it never lowers a
    severity, so a level the agent chose is kept or raised. An unknown code is
    stored as a failed finding.

    Example::

        @hookimpl
        def assess_severity(case, tenant):
            if case.extra.get("data_exposure"):
                return {"severity": tenant.severities[-2].code,
                        "reasons": ["personal data exposed"]}
    """


@hookspec
def check_entitlement(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo
) -> Entitlement | list[Entitlement] | None:
    """Decide warranty, return, exchange or refund eligibility.

    Arguments: `case`, `settings`, `tenant`.

    Returns: `Entitlement` (`kind`: warranty/return/exchange/refund, `eligible`,
    `rule`: the rule that decided, `details`), or a list of them when several
    apply (e.g. a return and an exchange).

    Called when: at intake, with the other intake hooks; stored as a finding.

    Example::

        @hookimpl
        def check_entitlement(case, settings):
            days = (case.received_at.date() - date.fromisoformat(
                case.product["purchase_date"])).days
            return Entitlement(kind="warranty", eligible=days <= settings.warranty_days,
                               rule=f"warranty.{settings.warranty_days}d",
                               details={"days_since_purchase": days})
    """


@hookspec
def suggest_resolution(
    case: CaseSnapshot, settings: Any, tenant: TenantInfo
) -> list[ResolutionOption] | None:
    """Suggest how to resolve the case and who bears the cost.

    Arguments: `case`, `settings`, `tenant`.

    Returns: a list of `ResolutionOption` (`solution_type`, `description`,
    `cost_bearer`: company/customer/third_party/shared, `amount`, `currency`,
    `responsible_party`).

    Called when: at intake, with the other intake hooks; stored as a finding for the
    handler to choose from.

    Example::

        @hookimpl
        def suggest_resolution(case):
            if case.category_code == "logistics_delay":
                return [ResolutionOption(solution_type="apology",
                                         description="apologise, chase the carrier",
                                         cost_bearer="third_party",
                                         responsible_party="carrier")]
    """


@hookspec
def correlate_case(case: CaseSnapshot, settings: Any, tenant: TenantInfo) -> Correlation | None:
    """Say which other cases this one belongs with (one batch, one outage).

    Arguments: `case`, `settings`, `tenant`.

    Returns: `Correlation` (`key`, `label`, `window_minutes`, `threshold`).

    Called when: at intake, with the other intake hooks. Once the case is stored,
    the core links the tenant's cases with the same key (from this plugin) received
    within `window_minutes` before this one; when their number, this case included,
    reaches `threshold` it raises an alert once per key and window: a
    `correlation_alert` event on the case's timeline and an in-app notification to
    the tenant's supervisors.

    Example::

        @hookimpl
        def correlate_case(case):
            if case.extra.get("fault_cause") == "quality_defect" and case.product.get("batch"):
                return Correlation(key=f"batch:{case.product['batch']}",
                                   label=f"batch {case.product['batch']}",
                                   window_minutes=7 * 24 * 60, threshold=3)
    """


@hookspec
def on_case_event(
    event: CaseEventSnapshot, settings: Any, tenant: TenantInfo
) -> list[PluginAction] | None:
    """React to a lifecycle step with side effects.

    Arguments: `event` (`CaseEventSnapshot`: `case`, `type`, `from_status`,
    `to_status`, `data`, `at`), `settings`, `tenant`.

    Returns: a list of `PluginAction`: `{type: "notify_email", to, subject, body}`
    (sent through the notifications service) or `{type: "flag", label}` (a
    `plugin_flag` event on the timeline).

    Called when: after an intake (`event.type == "registered"`) or a lifecycle action
    (`event.type` is the action: `verify`, `assign`, `resolve`, `reopen`, ...)
    committed, by a worker, never inside the request; the actions are carried out by
    that worker and the result stored as a finding.

    Example::

        @hookimpl
        def on_case_event(event, settings):
            if event.type == "reopen":
                return [PluginAction(type="flag", label="reopened: check the batch")]
    """
