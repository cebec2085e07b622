"""What the plugins said about a new case, as lines for the register result page."""

from __future__ import annotations

from typing import Any

from closeloop.console.i18n import N_, gettext
from closeloop.plugins.models import CaseFinding

__all__ = ["HOOK_TITLES", "finding_lines", "hook_titles"]

HOOK_TITLES = {
    "classify_case": N_("Classification"),
    "assess_severity": N_("Severity assessment"),
    "check_entitlement": N_("Entitlement"),
    "suggest_resolution": N_("Suggested resolution"),
    "validate_intake": N_("Warnings"),
    "correlate_case": N_("Related cases"),
}


def hook_titles(locale: str) -> dict[str, str]:
    return {hook: gettext(locale, title) for hook, title in HOOK_TITLES.items()}


def _items(result: Any) -> list[dict[str, Any]]:
    items = result if isinstance(result, list) else [result]
    return [item for item in items if isinstance(item, dict)]


def _classification(locale: str, result: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("category", N_("Category")), ("severity", N_("Severity"))):
        suggestion = result.get(key)
        if isinstance(suggestion, dict):
            lines.append(
                gettext(
                    locale,
                    N_("%(what)s: %(code)s (confidence %(confidence)s) %(reason)s"),
                    what=gettext(locale, label),
                    code=suggestion.get("code", ""),
                    confidence=f"{float(suggestion.get('confidence') or 0):.0%}",
                    reason=suggestion.get("reason") or "",
                )
            )
    return lines


def _line(locale: str, hook: str, item: dict[str, Any]) -> str:
    if hook == "assess_severity":
        return gettext(
            locale,
            N_("Severity %(code)s: %(reasons)s"),
            code=item.get("severity", ""),
            reasons="; ".join(str(r) for r in item.get("reasons") or []),
        )
    if hook == "check_entitlement":
        message = N_("%(kind)s: entitled (%(rule)s)") if item.get("eligible") else None
        return gettext(
            locale,
            message or N_("%(kind)s: not entitled (%(rule)s)"),
            kind=item.get("kind", ""),
            rule=item.get("rule", ""),
        )
    if hook == "suggest_resolution":
        amount = item.get("amount")
        cost = f"{amount} {item.get('currency') or ''}".strip() if amount is not None else ""
        return gettext(
            locale,
            N_("%(solution)s: %(description)s (borne by %(bearer)s) %(amount)s"),
            solution=item.get("solution_type", ""),
            description=item.get("description", ""),
            bearer=item.get("cost_bearer", ""),
            amount=cost,
        )
    if hook == "validate_intake":
        return f"{item.get('field', '')}: {item.get('message', '')}"
    return str(item.get("label") or item.get("key") or "")


def finding_lines(locale: str, finding: CaseFinding) -> list[str]:
    """The finding's result, one line per item, in the page's language where it is ours."""
    if finding.result is None:
        return []
    if finding.hook == "classify_case" and isinstance(finding.result, dict):
        return _classification(locale, finding.result)
    return [_line(locale, finding.hook, item) for item in _items(finding.result)]
