"""The served OpenAPI document keeps telling the truth as routes are added: every
operation documents the errors it can answer in the one error shape, public operations
take no bearer token, request bodies refuse unknown fields, and the limits the code
enforces are stated. (tests/fuzz checks the answers themselves against it.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from closeloop.web.openapi_routes import ACTIONS_PATH, ERROR_MEDIA_TYPES, EXTRA_STATUSES
from support import Client, TenantHandle

METHODS = ("get", "put", "post", "patch", "delete")
ERROR_REF = "#/components/schemas/Error"
PUBLIC_PREFIXES = ("/public/", "/health/", "/metrics", "/schema")


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _objects(document: dict[str, Any], schema: Any, seen: set[str]) -> Iterator[dict[str, Any]]:
    """Every object schema reachable from `schema` (through $ref, anyOf, items...)."""
    if isinstance(schema, list):
        for item in schema:
            yield from _objects(document, item, seen)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        yield from _objects(document, _resolve(document, schema), seen)
        return
    if "properties" in schema:
        yield schema
    for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        value = schema.get(key)
        if key == "properties" and isinstance(value, dict):
            value = list(value.values())
        yield from _objects(document, value, seen)


def _is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path == "/api/v1/auth/login"


async def test_every_error_answer_is_documented_in_the_one_error_shape(
    document: dict[str, Any],
) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message", "details"}
    fields = error["properties"]["error"]["properties"]["details"]["properties"]["fields"]
    assert fields["items"]["required"] == ["field", "message"]
    for method, path, operation in _operations(document):
        key = f"{method} {path}"
        errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
        takes_input = operation.get("parameters") or operation.get("requestBody")
        assert errors or (_is_public(path) and not takes_input), f"{key} documents no 4xx"
        for status, response in errors.items():
            content = response["content"]
            assert content["application/json"]["schema"] == {"$ref": ERROR_REF}, (key, status)
            assert set(content) <= {"application/json", *ERROR_MEDIA_TYPES.get(key, ())}


async def test_statuses_follow_from_what_an_operation_takes(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        key = f"{method} {path}"
        statuses = set(operation["responses"])
        where = {p["in"] for p in operation.get("parameters", [])}
        if operation.get("requestBody"):
            assert {"400", "413", "422"} <= statuses, key
        if "path" in where:
            assert "404" in statuses, key
        if "query" in where:
            assert {"400", "422"} <= statuses, key
        if path.startswith("/platform/"):
            assert "401" in statuses, key
        elif not _is_public(path):
            assert {"401", "403"} <= statuses, key
        if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
            assert {"409", "428"} <= statuses, key


async def test_public_operations_need_no_bearer_token(document: dict[str, Any]) -> None:
    assert document["security"] == [{"bearer": []}]
    for method, path, operation in _operations(document):
        if _is_public(path):
            assert operation.get("security") == [], f"{method} {path}"
        else:
            assert "security" not in operation, f"{method} {path} must use the bearer token"


async def test_request_bodies_refuse_unknown_fields(document: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        if media is None:
            continue
        for schema in _objects(document, media["schema"], set()):
            assert schema.get("additionalProperties") is False, (method, path, schema)
            checked += 1
    assert checked > 50


async def test_limits_the_code_enforces_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    intake = schemas["CaseCreate"]["properties"]
    assert intake["title"]["maxLength"] == 500
    assert intake["demands"]["maxItems"] == 20
    assert intake["demands"]["items"]["minLength"] == 1
    assert intake["received_at"]["anyOf"][0]["format"] == "date-time"
    assert schemas["Verify"]["properties"]["valid"] == {"type": "boolean"}
    listing = {p["name"]: p for p in document["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert (listing["limit"]["schema"]["minimum"], listing["limit"]["schema"]["maximum"]) == (
        1,
        200,
    )
    assert "pattern" in listing["status"]["schema"]["items"]
    edit = document["paths"]["/api/v1/cases/{case_id}"]["patch"]
    if_match = next(p for p in edit["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    assert if_match["schema"]["pattern"]


async def test_each_lifecycle_action_is_its_own_operation(document: dict[str, Any]) -> None:
    assert ACTIONS_PATH not in document["paths"]
    verify = document["paths"]["/api/v1/cases/{case_id}/actions/verify"]["post"]
    body = verify["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Verify"}
    assert [p["name"] for p in verify["parameters"]] == ["case_id"]


async def test_every_route_named_in_the_status_table_exists(document: dict[str, Any]) -> None:
    keys = {f"{m} {p}" for m, p, _ in _operations(document)} | {f"POST {ACTIONS_PATH}"}
    assert set(EXTRA_STATUSES) <= keys, set(EXTRA_STATUSES) - keys
    for key, statuses in EXTRA_STATUSES.items():
        method, path = key.split(" ", 1)
        if path == ACTIONS_PATH:
            continue
        documented = set(document["paths"][path][method.lower()]["responses"])
        assert {str(s) for s in statuses} <= documented, key


async def test_an_allow_header_names_every_method_of_the_path(client: Client) -> None:
    response = await client.options("/api/v1/categories")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "OPTIONS", "POST"}


async def test_an_idempotent_replay_answers_a_documented_status(
    client: Client, tenant: TenantHandle, document: dict[str, Any]
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "replay-1"}
    body = {
        "kind": "complaint",
        "channel": "phone",
        "title": "Late parcel",
        "description": "The parcel is a week late.",
        "customer": {"nickname": "Sam"},
    }
    statuses = [
        (await client.post("/api/v1/cases", headers=headers, json=body)).status_code
        for _ in range(2)
    ]
    assert statuses == [201, 200]
    documented = document["paths"]["/api/v1/cases"]["post"]["responses"]
    assert {"200", "201"} <= set(documented)
    assert documented["200"]["content"] == documented["201"]["content"]
    assert "Idempotent-Replayed" in documented["200"]["headers"]
