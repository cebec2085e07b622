"""Every hook of the internet plugin, called as the server calls it (`closeloop.testing`)."""

from __future__ import annotations

import pytest

import closeloop_internet
from closeloop.plugins.types import CaseSnapshot, FieldSpec
from closeloop.testing import PluginFailure, case_event, run_hook, sample_case, tenant_info

CLOUDNET = tenant_info(slug="cloudnet", severities=["general", "important", "major"])
FOUR = tenant_info(severities=["p4", "p3", "p2", "p1"], locale="en")
CONTACT = {"security_contact": "security@cloudnet.example.com"}


def outage(**extra: object) -> CaseSnapshot:
    return sample_case(
        title="云存储无法访问",
        description="上午起控制台打不开,接口报错 503",
        category_code="system_failure.outage",
        severity_code="general",
        extra=extra,
    )


def test_extra_fields_declare_the_incident_fields() -> None:
    fields = run_hook(closeloop_internet, "extra_fields", kind="complaint")
    by_name = {field.name: field for field in fields}
    assert set(by_name) == {
        "affected_users",
        "scope",
        "duration_minutes",
        "service_tier",
        "data_exposure",
        "payment_impact",
        "service",
        "region",
    }
    assert by_name["scope"] == FieldSpec(
        name="scope",
        type="enum",
        choices=["single_user", "region", "all"],
        description=by_name["scope"].description,
    )
    assert by_name["service_tier"].choices == ["free", "standard", "enterprise"]
    assert by_name["affected_users"].type == "integer"
    assert by_name["data_exposure"].type == "boolean"
    assert not any(field.required for field in fields)
    assert run_hook(closeloop_internet, "extra_fields", kind="suggestion") is None


def test_validate_intake_refuses_negative_numbers() -> None:
    case = sample_case(number=None, extra={"affected_users": -3, "duration_minutes": 10})
    issues = run_hook(closeloop_internet, "validate_intake", case=case, tenant=CLOUDNET)
    assert [(i.field, i.level) for i in issues] == [("extra.affected_users", "error")]
    fine = sample_case(number=None, extra={"affected_users": 3})
    assert run_hook(closeloop_internet, "validate_intake", case=fine) is None


def test_classify_case_suggests_a_category_with_reason_and_confidence() -> None:
    case = sample_case(title="账号被盗", description="我的个人信息泄露了,有人异地登录", extra={})
    found = run_hook(closeloop_internet, "classify_case", case=case)
    assert found.category.code == "information_security"
    assert "被盗" in found.category.reason
    assert found.category.confidence == 0.9
    assert found.severity is None
    neutral = sample_case(title="咨询", description="请问发票怎么开具抬头")
    assert run_hook(closeloop_internet, "classify_case", case=neutral) is None


@pytest.mark.parametrize(
    ("extra", "three", "four"),
    [
        ({"scope": "all"}, "major", "p1"),
        ({"scope": "region"}, "important", "p2"),
        ({"affected_users": 50}, "general", "p3"),
        ({"scope": "single_user"}, "general", "p4"),
        ({"affected_users": 50, "payment_impact": True}, "important", "p2"),
    ],
)
def test_assess_severity_maps_priorities_to_the_tenants_levels(
    extra: dict[str, object], three: str, four: str
) -> None:
    case = outage(**extra)
    assert (
        run_hook(closeloop_internet, "assess_severity", case=case, tenant=CLOUDNET).severity
        == three
    )
    assert run_hook(closeloop_internet, "assess_severity", case=case, tenant=FOUR).severity == four


def test_assess_severity_mapping_is_configurable() -> None:
    settings = {"severity_map": {"P3": "important"}, "p3_users": 20}
    result = run_hook(
        closeloop_internet,
        "assess_severity",
        case=outage(affected_users=20),
        settings=settings,
        tenant=CLOUDNET,
    )
    assert result.severity == "important"
    assert result.reasons[:2] == ["P3 -> important", "20 users affected (P3 from 20)"]


@pytest.mark.parametrize(
    ("category", "extra"),
    [
        ("information_security.privacy", {}),
        ("information_security", {"scope": "single_user"}),
        ("system_failure", {"data_exposure": True, "scope": "single_user"}),
    ],
)
def test_a_data_security_complaint_is_at_least_the_second_highest_level(
    category: str, extra: dict[str, object]
) -> None:
    case = sample_case(category_code=category, extra=extra)
    three = run_hook(closeloop_internet, "assess_severity", case=case, tenant=CLOUDNET)
    assert three.severity == "important"
    four = run_hook(closeloop_internet, "assess_severity", case=case, tenant=FOUR)
    assert four.severity == "p2"
    # ... and never lowered by the floor
    wide = sample_case(category_code=category, extra={**extra, "scope": "all"})
    top = run_hook(closeloop_internet, "assess_severity", case=wide, tenant=CLOUDNET)
    assert top.severity == "major"


def test_assess_severity_says_nothing_without_incident_facts() -> None:
    case = sample_case(category_code="billing_dispute", extra={"service": "cdn"})
    assert run_hook(closeloop_internet, "assess_severity", case=case, tenant=CLOUDNET) is None


def test_correlate_case_keys_outages_by_service_and_region() -> None:
    case = outage(service="Object Storage", region="East China")
    found = run_hook(
        closeloop_internet,
        "correlate_case",
        case=case,
        settings={"outage_window_minutes": 10, "outage_threshold": 3},
    )
    assert found.key == "outage:object-storage:east-china"
    assert (found.window_minutes, found.threshold) == (10, 3)
    assert "Object Storage" in found.label
    # no category yet: the text decides
    plain = sample_case(
        category_code=None,
        title="CDN down",
        description="every page times out",
        extra={"service": "cdn", "scope": "all"},
    )
    assert run_hook(closeloop_internet, "correlate_case", case=plain).key == "outage:cdn:all"


@pytest.mark.parametrize(
    ("category", "title", "extra"),
    [
        ("billing_dispute", "多扣费", {"service": "cdn", "region": "north"}),
        (None, "被重复扣费,要求退款", {"service": "cdn", "region": "north"}),
        ("system_failure", "无法访问", {"region": "north"}),
    ],
)
def test_correlate_case_ignores_other_reports(
    category: str | None, title: str, extra: dict[str, object]
) -> None:
    case = sample_case(category_code=category, title=title, description=title, extra=extra)
    assert run_hook(closeloop_internet, "correlate_case", case=case) is None


def test_on_case_event_notifies_the_security_contact_at_registration() -> None:
    case = sample_case(category_code="information_security.privacy", title="个人信息泄露")
    registered = case_event("registered", case=case, from_status=None, to_status="registered")
    actions = run_hook(
        closeloop_internet, "on_case_event", event=registered, settings=CONTACT, tenant=CLOUDNET
    )
    assert len(actions) == 1
    action = actions[0]
    assert (action.type, action.to) == ("notify_email", "security@cloudnet.example.com")
    assert case.number in action.subject
    assert "信息安全" in action.subject
    english = run_hook(
        closeloop_internet, "on_case_event", event=registered, settings=CONTACT, tenant=FOUR
    )
    assert english[0].subject.startswith("[Security] Case ")


def test_on_case_event_flags_when_no_contact_is_set_and_ignores_the_rest() -> None:
    case = sample_case(extra={"data_exposure": True})
    registered = case_event("registered", case=case, from_status=None, to_status="registered")
    (flag,) = run_hook(closeloop_internet, "on_case_event", event=registered)
    assert flag.type == "flag"
    assert "security" in flag.label
    verified = case_event("verified", case=case)
    assert run_hook(closeloop_internet, "on_case_event", event=verified, settings=CONTACT) is None
    plain = case_event("registered", case=sample_case(), from_status=None)
    assert run_hook(closeloop_internet, "on_case_event", event=plain, settings=CONTACT) is None


def test_settings_are_validated() -> None:
    with pytest.raises(PluginFailure, match="invalid_settings"):
        run_hook(
            closeloop_internet,
            "correlate_case",
            case=outage(),
            settings={"security_contact": "not-an-address"},
        )
    with pytest.raises(PluginFailure, match="invalid_settings"):
        run_hook(
            closeloop_internet,
            "correlate_case",
            case=outage(),
            settings={"severity_map": {"P5": "major"}},
        )
