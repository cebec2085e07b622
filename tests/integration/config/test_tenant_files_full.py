"""Tenant files carry business calendars, SLA policies with their escalation ladders,
notification templates and webhook endpoints (secrets by environment variable name):
apply, apply again with no changes, export back equal; a bad field names its line."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.config.files import (
    ChangeSet,
    TenantFileError,
    apply_tenant_file,
    export_tenant,
    load_tenant_file,
)
from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings

ENV = {"FULL_ADMIN_PASSWORD": "correct horse battery", "FULL_CRM_SECRET": "s3cret-signing-key-0123"}

FULL = """\
[tenant]
slug = "full"
name = "Full Ltd"
locale = "zh-CN"
timezone = "Asia/Shanghai"

[[users]]
email = "admin@full.example.com"
display_name = "Admin"
roles = ["admin"]
password_env = "FULL_ADMIN_PASSWORD"

[[calendars]]
code = "default"
name = "工作日历"
extra_holidays = [2026-12-31]

[[calendars]]
code = "shifts"
name = "Seven-day service desk"
timezone = "Asia/Shanghai"
country = "CN"
workday_hours = ["08:00-20:00"]

[calendars.week_hours]
mon = ["08:00-20:00"]
tue = ["08:00-20:00"]
wed = ["08:00-20:00"]
thu = ["08:00-20:00"]
fri = ["08:00-20:00"]
sat = ["09:00-17:00"]
sun = ["09:00-17:00"]

[[sla_policies]]
code = "critical"
name = "特急"
position = 10
match_severity = "critical"
calendar = "shifts"

[sla_policies.targets.first_response]
unit = "calendar"
hours = 1.0

[sla_policies.targets.resolution]
unit = "working_days"
days = 2

[[sla_policies.levels]]
target = "first_response"
trigger = "percent"
threshold = 50
actions = ["notify_handler", "notify_supervisors"]

[[sla_policies.levels]]
target = "resolution"
trigger = "breach"
actions = ["notify_role"]
role = "supervisor"

[[sla_policies]]
code = "default"
name = "普通"
position = 1000
is_default = true

[sla_policies.targets.first_response]
unit = "business"
hours = 24.0

[[sla_policies.levels]]
target = "first_response"
trigger = "breach"
actions = ["notify_handler"]

[[templates]]
event = "acknowledgement"
channel = "email"
locale = "zh-CN"
subject = "{{ tenant_name }} 已受理您的投诉 {{ case_number }}"
body = "您好 {{ recipient_name }},我们将在 {{ reply_by }} 前答复。"

[[webhooks]]
url = "https://crm.example.com/hooks/closeloop"
events = ["acknowledgement", "result"]
description = "CRM"
secret_env = "FULL_CRM_SECRET"
"""


async def _apply(engine: AsyncEngine, settings: Settings, source: str) -> ChangeSet:
    file = load_tenant_file("full.toml", text=source)
    async with transaction(sessionmaker(engine)) as session:
        return await apply_tenant_file(session, file, env=ENV, settings=settings)


async def _export(engine: AsyncEngine) -> str:
    async with transaction(sessionmaker(engine)) as session:
        return await export_tenant(session, "full")


def _sections(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    return {name: data.get(name) for name in ("calendars", "sla_policies", "templates", "webhooks")}


async def test_calendars_policies_templates_and_webhooks_apply_idempotently(
    app_engine: AsyncEngine, settings: Settings
) -> None:
    created = await _apply(app_engine, settings, FULL)
    assert created.applied
    added = {(c.entity, c.key) for c in created.changes if c.op == "add"}
    assert ("calendar", "shifts") in added
    assert ("template", "acknowledgement/email/zh-CN") in added
    assert ("webhook", "https://crm.example.com/hooks/closeloop") in added

    again = await _apply(app_engine, settings, FULL)
    assert not again, again.report()

    exported = await _export(app_engine)
    assert "FULL_CRM_SECRET" not in exported
    assert "s3cret" not in exported
    sections = _sections(exported)
    calendars = {c["code"]: c for c in sections["calendars"]}
    assert calendars["shifts"]["week_hours"]["sat"] == ["09:00-17:00"]
    assert calendars["default"]["extra_holidays"] == [__import__("datetime").date(2026, 12, 31)]
    policies = {p["code"]: p for p in sections["sla_policies"]}
    assert policies["critical"]["calendar"] == "shifts"
    assert policies["critical"]["targets"]["resolution"] == {"unit": "working_days", "days": 2}
    assert [lv["trigger"] for lv in policies["critical"]["levels"]] == ["percent", "breach"]
    assert policies["critical"]["levels"][1]["role"] == "supervisor"
    assert policies["urgent"]["active"] is False  # seeded, not in the file: deactivated
    assert sections["templates"][0]["subject"].startswith("{{ tenant_name }}")
    assert sections["webhooks"][0]["events"] == ["acknowledgement", "result"]

    # The export applies with no changes, and exports back equal.
    with_secret = exported.replace(
        'description = "CRM"', 'description = "CRM"\nsecret_env = "FULL_CRM_SECRET"'
    )
    assert not await _apply(app_engine, settings, with_secret)
    assert not await _apply(app_engine, settings, exported)
    assert await _export(app_engine) == exported


async def test_an_edit_changes_only_what_it_touches(
    app_engine: AsyncEngine, settings: Settings
) -> None:
    await _apply(app_engine, settings, FULL)
    edited = FULL.replace("threshold = 50", "threshold = 60").replace(
        '"acknowledgement", "result"', '"result"'
    )
    changed = await _apply(app_engine, settings, edited)
    assert sorted((c.op, c.entity, c.key) for c in changed.changes) == [
        ("change", "sla_policy", "critical"),
        ("change", "webhook", "https://crm.example.com/hooks/closeloop"),
    ]
    assert not await _apply(app_engine, settings, edited)


def _line(source: str, marker: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "marker"),
    [
        (
            'unit = "working_days"',
            'unit = "weeks"',
            "sla_policies[0].targets.resolution.unit",
            None,
        ),
        ('trigger = "percent"', 'trigger = "sometimes"', "sla_policies[0].levels[0].trigger", None),
        ('calendar = "shifts"', 'calendar = "nights"', "sla_policies[0].calendar", None),
        ('secret_env = "FULL_CRM_SECRET"', 'secret = "inline"', "webhooks[0].secret", None),
        (
            '["08:00-20:00"]\n\n[calendars',
            '["20:00-08:00"]\n\n[calendars',
            "calendars[1].workday_hours[0]",
            "workday_hours",
        ),
        ("{{ reply_by }}", "{{ reply_by", "templates[0].body", "body ="),
    ],
)
async def test_a_bad_field_is_reported_with_its_line(
    app_engine: AsyncEngine,
    settings: Settings,
    old: str,
    new: str,
    field: str,
    marker: str | None,
) -> None:
    assert old in FULL
    source = FULL.replace(old, new, 1)
    with pytest.raises(TenantFileError) as caught:
        await _apply(app_engine, settings, source)
    error = caught.value
    assert error.field == field, str(error)
    expected = marker or new.split("\n")[0]
    assert error.line == _line(source, expected), str(error)
