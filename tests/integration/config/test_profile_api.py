"""The tenant profile: admins change number patterns, the satisfaction scale, the follow-up
script and windows and the PII mode; an unusable value is 422 naming the field and leaves
the profile as it was; each change is audited."""

from __future__ import annotations

from typing import Any

import pytest

from support import Client, TenantHandle, fields_of

PROFILE = "/api/v1/profile"


async def _profile(client: Client, tenant: TenantHandle) -> dict[str, Any]:
    response = await client.get(PROFILE, headers=tenant.headers)
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()
    return profile


async def test_admin_changes_the_profile_and_the_change_is_audited(
    client: Client, tenant: TenantHandle
) -> None:
    before = await _profile(client, tenant)
    scale = [
        {"code": "very", "name_zh": "非常满意", "name_en": "Very satisfied", "satisfied": True},
        {"code": "ok", "name_zh": "满意", "name_en": "Satisfied", "satisfied": True},
        {"code": "meh", "name_zh": "一般", "name_en": "Neutral", "satisfied": True},
        {"code": "no", "name_zh": "不满意", "name_en": "Unsatisfied", "satisfied": False},
    ]
    response = await client.patch(
        PROFILE,
        headers=tenant.headers,
        json={
            "number_patterns": {"default": "{yy}{mm}{dd}{seq:05}", "inquiry": "ZX-{yyyy}-{seq}"},
            "satisfaction_scale": scale,
            "followup_window_days": [2, 4],
            "repeat_window_days": 14,
            "pii_mode": "none",
        },
    )

    assert response.status_code == 200, response.text
    after = response.json()
    assert after["number_patterns"] == {
        "default": "{yy}{mm}{dd}{seq:05}",
        "inquiry": "ZX-{yyyy}-{seq}",
    }
    assert after["satisfaction_scale"] == scale
    assert (after["followup_window_days"], after["repeat_window_days"], after["pii_mode"]) == (
        [2, 4],
        14,
        "none",
    )
    assert after["followup_script"] == before["followup_script"]  # not given, not changed
    assert await _profile(client, tenant) == after
    entries = (
        await client.get(
            "/api/v1/audit", headers=tenant.headers, params={"action": "profile.update"}
        )
    ).json()["items"]
    assert len(entries) == 1
    assert entries[0]["before"]["repeat_window_days"] == 30
    assert entries[0]["after"]["repeat_window_days"] == 14
    assert "followup_script" not in entries[0]["after"]


BAD = [
    (
        {"number_patterns": {"default": "{yyyy}-{month}-{seq}"}},
        "number_patterns.default",
        "{month}",
    ),
    ({"number_patterns": {"default": "{yyyy}{mm}"}}, "number_patterns.default", "{seq}"),
    (
        {"number_patterns": {"default": "{seq}", "complaint": "C-{seq}-{seq}"}},
        "number_patterns.complaint",
        "once",
    ),
    ({"number_patterns": {"complaint": "C-{seq}"}}, "number_patterns.default", "default"),
    (
        {"number_patterns": {"default": "{seq}", "rant": "R-{seq}"}},
        "number_patterns.rant",
        "case kind",
    ),
    ({"number_patterns": {"default": "A {seq}"}}, "number_patterns.default", "spaces"),
    ({"number_patterns": {"default": "{seq:013}"}}, "number_patterns.default", "12 digits"),
    (
        {
            "satisfaction_scale": [
                {"code": "a", "name_zh": "满意", "name_en": "Yes", "satisfied": True},
                {"code": "b", "name_zh": "很满意", "name_en": "Very", "satisfied": True},
            ]
        },
        "satisfaction_scale",
        "satisfied = true",
    ),
    (
        {
            "satisfaction_scale": [
                {"code": "a", "name_zh": "满意", "name_en": "Yes", "satisfied": True},
                {"code": "a", "name_zh": "不满意", "name_en": "No", "satisfied": False},
            ]
        },
        "satisfaction_scale[1].code",
        "twice",
    ),
    ({"followup_script": []}, "followup_script", "at least one"),
    ({"followup_window_days": [5, 3]}, "followup_window_days", "earliest first"),
    ({"pii_mode": "secret"}, "pii_mode", "normal, none"),
]


@pytest.mark.parametrize(("body", "field", "words"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
async def test_an_unusable_value_is_422_naming_the_field_and_nothing_changes(
    client: Client, tenant: TenantHandle, body: dict[str, Any], field: str, words: str
) -> None:
    before = await _profile(client, tenant)

    response = await client.patch(PROFILE, headers=tenant.headers, json=body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert fields_of(error) == [field]
    assert words in error["message"]
    assert await _profile(client, tenant) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"repeat_window_days": 0}, "repeat_window_days"),
        ({"followup_window_days": [3]}, "followup_window_days"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field(
    client: Client, tenant: TenantHandle, body: dict[str, Any], field: str
) -> None:
    response = await client.patch(PROFILE, headers=tenant.headers, json=body)
    assert response.status_code == 400, response.text
    assert field in fields_of(response.json())
