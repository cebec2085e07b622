"""Input is read as strictly as the OpenAPI document describes it: a JSON boolean is
`true` or `false`, a number is a number, a time parameter is an RFC 3339 time, and a
version is ASCII digits. Anything else is a 400 naming the field that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from case_support import create_case

from support import OPERATOR, Client, TenantHandle, fields_of


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"active": "false"}, "active"),
        ({"active": 0}, "active"),
        ({"position": "3"}, "position"),
        ({"position": True}, "position"),
    ],
)
async def test_a_body_value_of_the_wrong_json_type_is_400(
    client: Client, tenant: TenantHandle, body: dict[str, Any], field: str
) -> None:
    made = await client.post(
        "/api/v1/channels", headers=tenant.headers, json={"code": "wechat", "name_en": "WeChat"}
    )
    assert made.status_code == 201, made.text
    url = f"/api/v1/channels/{made.json()['id']}"

    response = await client.patch(url, headers=tenant.headers, json=body)

    assert response.status_code == 400, response.text
    assert fields_of(response.json()) == [field]
    kept = (await client.get(url, headers=tenant.headers)).json()
    assert (kept["active"], kept["position"]) == (made.json()["active"], made.json()["position"])


async def test_a_whole_number_written_with_a_fraction_is_an_integer(
    client: Client, tenant: TenantHandle
) -> None:
    # JSON Schema, and so the document, calls 7.0 an integer.
    response = await client.post(
        "/api/v1/channels",
        headers=tenant.headers,
        json={"code": "kiosk", "name_en": "Kiosk", "position": 7.0},
    )
    assert response.status_code == 201, response.text
    assert response.json()["position"] == 7


async def test_a_nested_value_of_the_wrong_type_names_its_path(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "t",
            "description": "d",
            "product": {"name": 42},
        },
    )
    assert response.status_code == 400, response.text
    assert fields_of(response.json()) == ["product.name"]
    listed = await client.get("/api/v1/cases", headers=tenant.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/audit?to=0.5", "to"),
        ("/api/v1/audit?from=1700000000", "from"),
        ("/api/v1/cases?received_from=", "received_from"),
        ("/api/v1/cases?received_to=2026-W47-3", "received_to"),
        ("/api/v1/cases?status=", "status"),
        ("/api/v1/cases?status=assigned,%20resolved", "status"),
        ("/api/v1/cases?breached=1", "breached"),
        ("/api/v1/cases/export?breached=True", "breached"),
        ("/api/v1/inbox?unread=0", "unread"),
        ("/api/v1/categories?active=TRUE", "active"),
    ],
)
async def test_a_query_value_that_is_not_what_the_document_says_is_400(
    client: Client, tenant: TenantHandle, url: str, field: str
) -> None:
    response = await client.get(url, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert fields_of(response.json()) == [field]


async def test_query_booleans_are_true_or_false(client: Client, tenant: TenantHandle) -> None:
    for url in ("/api/v1/cases?breached=true", "/api/v1/categories?active=false"):
        response = await client.get(url, headers=tenant.headers)
        assert response.status_code == 200, (url, response.text)


async def test_a_number_is_not_a_time_for_the_operator_api(client: Client) -> None:
    response = await client.get("/platform/v1/dead-letters?before=0.5", headers=OPERATOR)
    assert response.status_code == 400, response.text
    assert fields_of(response.json()) == ["before"]


@pytest.mark.parametrize("if_match", ["²".encode(), "١".encode(), b"1.0", b"null"])
async def test_if_match_takes_ascii_digits_only(
    client: Client, tenant: TenantHandle, if_match: bytes
) -> None:
    # `str.isdigit` takes "²" and "١", which `int` refuses: that was a 500.
    case = await create_case(client, tenant.headers)
    response = await client.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**tenant.headers, "If-Match": if_match},  # type: ignore[dict-item]
        json={"title": "changed"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_if_match"
    read = await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)
    assert read.json()["title"] == case["title"]
