"""Closeloop example plugin: flags cases whose text mentions a configured keyword.

The minimal plugin that docs/plugins.md builds step by step: one module with its
metadata, a settings Struct, and two hooks.
"""

from __future__ import annotations

import msgspec

from closeloop import hookimpl
from closeloop.plugins.types import CaseEventSnapshot, CaseSnapshot, FieldIssue, PluginAction

NAME = "keywords"
VERSION = "0.1.0"
DESCRIPTION = "Flags cases whose title or description mentions a configured keyword"


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Per tenant. `keywords` are matched without regard to case."""

    keywords: list[str] = msgspec.field(default_factory=lambda: ["12315", "律师", "媒体", "lawyer"])
    label: str = "escalation risk"


SECRET_FIELDS: tuple[str, ...] = ()


def found_keywords(case: CaseSnapshot, keywords: list[str]) -> list[str]:
    """The keywords in the case's title or description, in the order configured."""
    text = f"{case.title}\n{case.description}".casefold()
    return [word for word in keywords if word.strip() and word.casefold() in text]


@hookimpl
def validate_intake(case: CaseSnapshot, settings: Settings) -> list[FieldIssue]:
    """A warning on the new case, so the agent sees it while still on the phone."""
    return [
        FieldIssue(field="description", message=f"mentions {word!r}", level="warning")
        for word in found_keywords(case, settings.keywords)
    ]


@hookimpl
def on_case_event(event: CaseEventSnapshot, settings: Settings) -> list[PluginAction]:
    """A flag on the timeline of every newly registered case that mentions a keyword."""
    if event.type != "registered":
        return []
    words = found_keywords(event.case, settings.keywords)
    if not words:
        return []
    return [PluginAction(type="flag", label=f"{settings.label}: {', '.join(words)}")]
