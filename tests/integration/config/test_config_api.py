"""The configuration API: every tenant starts with the defaults; admins create, change and
retire categories, severities, departments, channels and demand types; every staff role
reads them; bad input is refused naming the field with nothing written; every write is
audited."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from closeloop.config.defaults import (
    DEFAULT_CATEGORIES,
    DEFAULT_CHANNELS,
    DEFAULT_DEMAND_TYPES,
    DEFAULT_DEPARTMENTS,
    DEFAULT_PROFILE,
)
from support import PASSWORD, Client, TenantHandle, bearer, fields_of, login

API = "/api/v1"
# path, an extra field a create needs, audit entity name
RESOURCES = [
    ("categories", {}, "category"),
    ("severities", {"rank": 10}, "severity"),
    ("departments", {}, "department"),
    ("channels", {}, "channel"),
    ("demand-types", {}, "demand_type"),
]
IDS = [r[0] for r in RESOURCES]


async def _list(
    client: Client, tenant: TenantHandle, path: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/{path}", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def _create(client: Client, tenant: TenantHandle, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/{path}/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _audit(client: Client, tenant: TenantHandle, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/audit", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _staff(client: Client, tenant: TenantHandle, role: str) -> dict[str, str]:
    email = f"{role}@{tenant.slug}.example.com"
    response = await client.post(
        f"{API}/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": role, "password": PASSWORD, "roles": [role]},
    )
    assert response.status_code == 201, response.text
    return bearer(await login(client, tenant.slug, email))


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


# ---- defaults ---------------------------------------------------------------------------


async def test_a_new_tenant_starts_with_the_default_configuration(
    client: Client, tenant: TenantHandle
) -> None:
    severities = await _list(client, tenant, "severities")
    assert [(s["code"], s["name_zh"], s["rank"]) for s in severities] == [
        ("normal", "普通", 1),
        ("urgent", "紧急", 2),
        ("critical", "特急", 3),
    ]
    categories = await _list(client, tenant, "categories")
    assert [c["code"] for c in categories] == [code for code, _, _ in DEFAULT_CATEGORIES]
    assert {c["name_zh"] for c in categories} >= {"产品质量", "物流延误", "信息安全"}
    assert all(c["active"] and c["parent_id"] is None for c in categories)
    channels = await _list(client, tenant, "channels")
    assert [c["code"] for c in channels] == [code for code, _, _ in DEFAULT_CHANNELS]
    demands = await _list(client, tenant, "demand-types")
    assert [d["code"] for d in demands] == [code for code, _, _ in DEFAULT_DEMAND_TYPES]
    departments = await _list(client, tenant, "departments")
    assert [(d["code"], d["name_zh"], d["name_en"]) for d in departments] == [
        ("customer_service", "客服部", "Customer service"),
        ("after_sales", "售后部", "After-sales"),
        ("product", "产品部", "Product"),
        ("logistics", "物流部", "Logistics"),
        ("technical", "技术部", "Technical"),
    ]
    assert all(d["active"] and d["parent_id"] is None for d in departments)
    assert all(d["manager_id"] is None for d in departments)

    profile = (await client.get(f"{API}/profile", headers=tenant.headers)).json()
    assert profile == DEFAULT_PROFILE
    assert profile["number_patterns"]["default"] == "{yyyy}{mm}{seq:04}"
    assert [(s["name_zh"], s["satisfied"]) for s in profile["satisfaction_scale"]] == [
        ("满意", True),
        ("基本满意", True),
        ("不满意", False),
    ]
    assert [s["step"] for s in profile["followup_script"]] == [
        "introduce",
        "thank",
        "confirm_problem",
        "explain_solution",
        "ask_satisfaction",
        "next_steps",
        "close",
    ]
    assert all(s["text_zh"] and s["text_en"] for s in profile["followup_script"])
    assert (profile["followup_window_days"], profile["repeat_window_days"]) == ([3, 5], 30)


async def test_each_tenant_has_its_own_defaults(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = {s["id"] for s in await _list(client, tenant, "severities")}
    theirs = {s["id"] for s in await _list(client, other_tenant, "severities")}
    assert len(mine) == len(theirs) == 3
    assert not mine & theirs


# ---- create, read, change, retire ------------------------------------------------------


@pytest.mark.parametrize(("path", "extra", "entity"), RESOURCES, ids=IDS)
async def test_admin_creates_reads_changes_and_retires_an_item_and_each_write_is_audited(
    client: Client, tenant: TenantHandle, path: str, extra: dict[str, Any], entity: str
) -> None:
    created = await _create(client, tenant, path, code="new-item", name_zh="新项目", **extra)
    assert created["name_en"] == "新项目"  # a missing name is copied from the other
    assert created["active"] is True
    item = f"{API}/{path}/{created['id']}"
    assert (await client.get(item, headers=tenant.headers)).json() == created

    renamed = await client.patch(item, headers=tenant.headers, json={"name_en": "New item"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name_en"], renamed.json()["name_zh"]) == ("New item", "新项目")
    retired = await client.patch(item, headers=tenant.headers, json={"active": False})
    assert retired.json()["active"] is False

    active_codes = [i["code"] for i in await _list(client, tenant, path, active=True)]
    retired_codes = [i["code"] for i in await _list(client, tenant, path, active=False)]
    assert "new-item" not in active_codes
    assert retired_codes == ["new-item"]
    entries = await _audit(client, tenant, entity_id=created["id"])
    by_action = {e["action"]: e for e in entries}
    assert set(by_action) == {f"{entity}.create", f"{entity}.update", f"{entity}.deactivate"}
    assert by_action[f"{entity}.create"]["actor"] == f"user:{tenant.admin_id}"
    assert by_action[f"{entity}.create"]["after"]["code"] == "new-item"
    assert by_action[f"{entity}.update"]["before"] == {"name_en": "新项目"}
    assert by_action[f"{entity}.update"]["after"] == {"name_en": "New item"}
    assert by_action[f"{entity}.deactivate"]["after"] == {"active": False}


@pytest.mark.parametrize(("path", "extra", "entity"), RESOURCES, ids=IDS)
async def test_a_patch_that_changes_nothing_writes_no_audit_entry(
    client: Client, tenant: TenantHandle, path: str, extra: dict[str, Any], entity: str
) -> None:
    created = await _create(client, tenant, path, code="same", name_en="Same", **extra)
    response = await client.patch(
        f"{API}/{path}/{created['id']}", headers=tenant.headers, json={"name_en": "Same"}
    )
    assert response.status_code == 200, response.text
    assert [e["action"] for e in await _audit(client, tenant, entity_id=created["id"])] == [
        f"{entity}.create"
    ]


@pytest.mark.parametrize(("path", "extra", "entity"), RESOURCES, ids=IDS)
async def test_a_duplicate_code_is_409_and_writes_nothing(
    client: Client, tenant: TenantHandle, path: str, extra: dict[str, Any], entity: str
) -> None:
    await _create(client, tenant, path, code="twice", name_en="First", **extra)
    before = await _list(client, tenant, path)
    audit_before = await _audit(client, tenant)

    response = await client.post(
        f"{API}/{path}/",
        headers=tenant.headers,
        json={"code": "twice", "name_en": "Second", "rank": 11}
        if path == "severities"
        else {"code": "twice", "name_en": "Second"},
    )

    error = _error(response, 409)
    assert fields_of(error) == ["code"]
    assert "twice" in error["message"]
    assert await _list(client, tenant, path) == before
    assert len(await _audit(client, tenant)) == len(audit_before)


async def test_the_same_code_may_exist_in_two_tenants(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await _create(client, tenant, "categories", code="shared", name_en="Shared")
    await _create(client, other_tenant, "categories", code="shared", name_en="Shared")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"code": "Bad Code", "name_en": "x"}, 400, "code"),
        ({"code": "ok"}, 422, "name_zh"),
        ({"code": "ok", "name_en": ""}, 400, "name_en"),
        ({"code": "ok", "name_en": "x", "colour": "red"}, 400, "colour"),
        ({"code": "ok", "name_en": "x", "position": -1}, 400, "position"),
        ({"code": "ok", "name_en": "x", "case_kind": "rant"}, 422, "case_kind"),
    ],
    ids=["code format", "no name", "empty name", "unknown field", "negative position", "case kind"],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    client: Client, tenant: TenantHandle, body: dict[str, Any], status: int, field: str
) -> None:
    before = await _list(client, tenant, "categories")
    response = await client.post(f"{API}/categories/", headers=tenant.headers, json=body)
    error = _error(response, status)
    assert field in fields_of(error), error
    assert await _list(client, tenant, "categories") == before


# ---- references: parents, default departments, managers ---------------------------------


@pytest.mark.parametrize("path", ["categories", "departments"])
async def test_a_parent_that_is_unknown_or_another_tenants_is_422_naming_parent_id(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, path: str
) -> None:
    theirs = await _create(client, other_tenant, path, code="theirs", name_en="Theirs")
    before = await _list(client, tenant, path)
    for parent_id in (theirs["id"], str(uuid.uuid4())):
        response = await client.post(
            f"{API}/{path}/",
            headers=tenant.headers,
            json={"code": "child", "name_en": "Child", "parent_id": parent_id},
        )
        assert fields_of(_error(response, 422)) == ["parent_id"]
    assert await _list(client, tenant, path) == before


@pytest.mark.parametrize("path", ["categories", "departments"])
async def test_trees_build_and_refuse_cycles(
    client: Client, tenant: TenantHandle, path: str
) -> None:
    root = await _create(client, tenant, path, code="root", name_en="Root")
    child = await _create(client, tenant, path, code="child", name_en="Child", parent_id=root["id"])
    grandchild = await _create(
        client, tenant, path, code="grandchild", name_en="Grandchild", parent_id=child["id"]
    )
    assert child["parent_id"] == root["id"]

    for new_parent in (grandchild["id"], root["id"]):
        response = await client.patch(
            f"{API}/{path}/{root['id']}", headers=tenant.headers, json={"parent_id": new_parent}
        )
        assert fields_of(_error(response, 422)) == ["parent_id"]
    moved = await client.patch(
        f"{API}/{path}/{grandchild['id']}", headers=tenant.headers, json={"parent_id": None}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] is None


async def test_a_categorys_default_department_must_be_the_tenants(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = await _create(client, tenant, "departments", code="quality", name_en="Quality")
    theirs = await _create(client, other_tenant, "departments", code="quality", name_en="Quality")

    refused = await client.post(
        f"{API}/categories/",
        headers=tenant.headers,
        json={"code": "defects", "name_en": "Defects", "default_department_id": theirs["id"]},
    )
    assert fields_of(_error(refused, 422)) == ["default_department_id"]
    made = await _create(
        client,
        tenant,
        "categories",
        code="defects",
        name_en="Defects",
        default_department_id=mine["id"],
        case_kind="complaint",
    )
    assert (made["default_department_id"], made["case_kind"]) == (mine["id"], "complaint")


async def test_a_department_manager_must_be_a_user_of_the_tenant(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for manager_id in (str(other_tenant.admin_id), str(uuid.uuid4())):
        response = await client.post(
            f"{API}/departments/",
            headers=tenant.headers,
            json={"code": "cs", "name_en": "Customer service", "manager_id": manager_id},
        )
        assert fields_of(_error(response, 422)) == ["manager_id"]
    codes = [d["code"] for d in await _list(client, tenant, "departments")]
    assert codes == [code for code, _, _ in DEFAULT_DEPARTMENTS]  # nothing added

    made = await _create(
        client, tenant, "departments", code="cs", name_en="CS", manager_id=str(tenant.admin_id)
    )
    assert made["manager_id"] == str(tenant.admin_id)
    cleared = await client.patch(
        f"{API}/departments/{made['id']}", headers=tenant.headers, json={"manager_id": None}
    )
    assert cleared.json()["manager_id"] is None


# ---- severities -------------------------------------------------------------------------


async def test_severity_ranks_are_unique(client: Client, tenant: TenantHandle) -> None:
    taken = await client.post(
        f"{API}/severities/",
        headers=tenant.headers,
        json={"code": "major", "name_en": "Major", "rank": 2},
    )
    error = _error(taken, 409)
    assert fields_of(error) == ["rank"]
    assert "urgent" in error["message"]

    urgent = next(s for s in await _list(client, tenant, "severities") if s["code"] == "urgent")
    clash = await client.patch(
        f"{API}/severities/{urgent['id']}", headers=tenant.headers, json={"rank": 3}
    )
    assert fields_of(_error(clash, 409)) == ["rank"]
    moved = await client.patch(
        f"{API}/severities/{urgent['id']}", headers=tenant.headers, json={"rank": 5}
    )
    assert moved.json()["rank"] == 5


async def test_the_last_active_severity_cannot_be_retired(
    client: Client, tenant: TenantHandle
) -> None:
    severities = await _list(client, tenant, "severities")
    for severity in severities[:-1]:
        response = await client.patch(
            f"{API}/severities/{severity['id']}", headers=tenant.headers, json={"active": False}
        )
        assert response.status_code == 200, response.text
    last = await client.patch(
        f"{API}/severities/{severities[-1]['id']}", headers=tenant.headers, json={"active": False}
    )
    assert fields_of(_error(last, 422)) == ["active"]
    assert [s["code"] for s in await _list(client, tenant, "severities", active=True)] == [
        "critical"
    ]


# ---- who may do what --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "agent", "handler", "followup", "viewer"])
async def test_staff_read_the_configuration_but_only_admins_change_it(
    client: Client, tenant: TenantHandle, role: str
) -> None:
    headers = await _staff(client, tenant, role)
    for path, extra, _ in RESOURCES:
        listed = await client.get(f"{API}/{path}", headers=headers)
        assert listed.status_code == 200, listed.text
        created = await client.post(
            f"{API}/{path}/", headers=headers, json={"code": "mine", "name_en": "Mine", **extra}
        )
        assert _error(created, 403)["code"] == "role_required"
        if listed.json():
            first = listed.json()[0]
            read = await client.get(f"{API}/{path}/{first['id']}", headers=headers)
            assert read.status_code == 200
            changed = await client.patch(
                f"{API}/{path}/{first['id']}", headers=headers, json={"name_en": "Hijacked"}
            )
            assert changed.status_code == 403
    assert (await client.get(f"{API}/profile", headers=headers)).status_code == 200
    refused = await client.patch(f"{API}/profile", headers=headers, json={"repeat_window_days": 7})
    assert refused.status_code == 403
    assert all(i["name_en"] != "Hijacked" for i in await _list(client, tenant, "categories"))
    assert all(i["code"] != "mine" for i in await _list(client, tenant, "channels"))


async def test_the_configuration_needs_a_login(client: Client) -> None:
    assert (await client.get(f"{API}/categories")).status_code == 401
    assert (await client.get(f"{API}/profile")).status_code == 401
