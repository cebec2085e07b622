"""The example plugin's own tests: its hooks called as the server calls them."""

import closeloop_example_keywords as plugin
from closeloop.testing import case_event, run_hook, sample_case


def test_a_registered_case_mentioning_a_keyword_is_flagged() -> None:
    case = sample_case(description="再不处理我就打 12315 投诉")
    event = case_event("registered", case=case, from_status=None, to_status="registered")
    (action,) = run_hook(plugin, "on_case_event", event=event)
    assert action.type == "flag"
    assert action.label == "escalation risk: 12315"


def test_keywords_and_label_come_from_the_tenants_settings() -> None:
    case = sample_case(title="Refund", description="I will call my LAWYER")
    event = case_event("registered", case=case, from_status=None, to_status="registered")
    settings = {"keywords": ["lawyer", "press"], "label": "legal"}
    (action,) = run_hook(plugin, "on_case_event", event=event, settings=settings)
    assert action.label == "legal: lawyer"


def test_other_cases_and_events_are_left_alone() -> None:
    quiet = case_event("registered", case=sample_case(), from_status=None)
    assert run_hook(plugin, "on_case_event", event=quiet) is None
    later = case_event("verified", case=sample_case(description="12315"))
    assert run_hook(plugin, "on_case_event", event=later) is None


def test_the_agent_is_warned_at_intake() -> None:
    case = sample_case(number=None, description="已联系媒体")
    (issue,) = run_hook(plugin, "validate_intake", case=case)
    assert (issue.field, issue.level) == ("description", "warning")
