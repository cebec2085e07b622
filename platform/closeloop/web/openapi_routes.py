"""What particular routes answer that their handlers do not show Litestar.

Used by `web.openapi.finish`: statuses a route's service raises beyond what the route's
shape implies, and the bodies and media types of handlers that read their own body
(lifecycle actions, attachments, survey answers) or answer something other than JSON
(exports, downloads, metrics, survey pages). Keys are "METHOD path" as in the document;
a test checks that every key names an operation.
"""

from __future__ import annotations

import copy

import msgspec
from litestar.openapi.spec import (
    Encoding,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    PathItem,
    RequestBody,
    Schema,
)

from closeloop.cases.action_schemas import ACTION_BODIES
from closeloop.cases.attachments import ALLOWED_TYPES
from closeloop.imports.mapping import SHIPPED
from closeloop.imports.schemas import FORM_FIELDS
from closeloop.surveys.schemas import SurveyAnswer, SurveyAnswered, SurveyRead
from closeloop.web.msgspec_schemas import MsgspecSchemas

__all__ = ["ERROR_MEDIA_TYPES", "EXTRA_STATUSES", "describe", "expand_actions"]

_CONFIG_KINDS = (
    ("categories", "category_id"),
    ("severities", "severity_id"),
    ("departments", "department_id"),
    ("channels", "channel_id"),
    ("demand-types", "demand_type_id"),
    ("calendars", "calendar_id"),
    ("sla-policies", "sla_policy_id"),
    ("templates", "template_id"),
)

# 404: a filter naming an id the tenant has not; 409: a duplicate code or e-mail, a
# state that forbids the change; 410: an expired link; 415: a file type not accepted;
# 429: the rate limits of login and public pages.
EXTRA_STATUSES: dict[str, frozenset[int]] = {
    "GET /api/v1/cases": frozenset({404}),
    "GET /api/v1/cases/export": frozenset({404}),
    "GET /api/v1/reports/summary": frozenset({404}),
    "POST /api/v1/auth/login": frozenset({401, 429}),
    "POST /api/v1/users": frozenset({409}),
    "PATCH /api/v1/users/{user_id}": frozenset({409}),
    "POST /platform/v1/tenants": frozenset({409}),
    # 409: the tenant is active, or the confirmation token is missing (then it is in
    # `details.confirm_token`) or stale.
    "DELETE /platform/v1/tenants/{slug}": frozenset({409}),
    "POST /api/v1/cases/{case_id}/actions/{action}": frozenset({409}),
    "POST /api/v1/cases/{case_id}/attachments": frozenset({409, 413, 415, 422}),
    "POST /public/{tenant}/cases": frozenset({429}),
    "GET /public/{tenant}/cases/{number}": frozenset({429}),
    "GET /public/surveys/{token}": frozenset({410, 429}),
    "POST /public/surveys/{token}": frozenset({409, 410, 413, 422, 429}),
    **{
        f"{method} /api/v1/{kind}{suffix}": frozenset({409})
        for kind, item in _CONFIG_KINDS
        for method, suffix in (("POST", ""), ("PATCH", f"/{{{item}}}"))
    },
    "DELETE /api/v1/calendars/{calendar_id}": frozenset({409}),
    "POST /api/v1/imports": frozenset({400, 413, 415, 422}),
    "POST /api/v1/imports/{run_id}/undo": frozenset({409}),
    "DELETE /api/v1/sla-policies/{sla_policy_id}": frozenset({409}),
}

# Routes whose errors are an HTML page when the caller is a browser.
ERROR_MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "GET /public/surveys/{token}": ("text/html",),
    "POST /public/surveys/{token}": ("text/html",),
}

ACTIONS_PATH = "/api/v1/cases/{case_id}/actions/{action}"

_TEXT = Schema(type=OpenAPIType.STRING)
_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOWNLOAD = {
    "Content-Disposition": OpenAPIHeader(schema=_TEXT, description="`attachment; filename=...`")
}


def _success(operation: Operation) -> OpenAPIResponse:
    for status, response in (operation.responses or {}).items():
        if status.startswith("2") and isinstance(response, OpenAPIResponse):
            return response
    raise LookupError(f"{operation.operation_id} documents no success response")


def describe(key: str, operation: Operation, schemas: MsgspecSchemas) -> None:
    """Bodies and media types of the routes that Litestar cannot read from the handler."""
    if key == "POST /api/v1/cases":
        _describe_replay(operation)
    elif key == "GET /api/v1/cases/export":
        answer = _success(operation)
        answer.content = {"text/csv": OpenAPIMediaType(schema=_TEXT)}
        answer.content[_XLSX] = OpenAPIMediaType(schema=_BINARY)
        answer.headers = dict(_DOWNLOAD)
    elif key == "GET /api/v1/cases/{case_id}/record.pdf":
        answer = _success(operation)
        answer.content = {"application/pdf": OpenAPIMediaType(schema=_BINARY)}
        answer.headers = dict(_DOWNLOAD)
    elif key == "GET /api/v1/cases/{case_id}/attachments/{attachment_id}":
        answer = _success(operation)
        answer.content = {t: OpenAPIMediaType(schema=_BINARY) for t in sorted(ALLOWED_TYPES)}
        answer.headers = dict(_DOWNLOAD)
    elif key == "POST /api/v1/cases/{case_id}/attachments":
        form = Schema(
            type=OpenAPIType.OBJECT,
            required=["file"],
            properties={"file": _BINARY},
            additional_properties=False,
        )
        file_types = {"file": Encoding(content_type=", ".join(sorted(ALLOWED_TYPES)))}
        operation.request_body = RequestBody(
            required=True,
            content={"multipart/form-data": OpenAPIMediaType(schema=form, encoding=file_types)},
        )
    elif key == "GET /platform/v1/tenants/{slug}/export":
        answer = _success(operation)
        answer.content = {"application/gzip": OpenAPIMediaType(schema=_BINARY)}
        answer.headers = {
            **_DOWNLOAD,
            "X-Closeloop-Audit-Ok": OpenAPIHeader(
                schema=_TEXT, description="`true` when the tenant's audit chain verifies"
            ),
            "X-Closeloop-Delete-Token": OpenAPIHeader(
                schema=_TEXT, description="a suspended tenant's deletion token"
            ),
        }
    elif key == "POST /api/v1/imports":
        operation.request_body = _import_form()
    elif key == "GET /api/v1/imports/{run_id}/errors.csv":
        answer = _success(operation)
        answer.content = {"text/csv": OpenAPIMediaType(schema=_TEXT)}
        answer.headers = dict(_DOWNLOAD)
    elif key == "GET /metrics":
        _success(operation).content = {"text/plain": OpenAPIMediaType(schema=_TEXT)}
    elif key == "GET /health/ready":
        _describe_readiness(operation)
    elif key == "GET /public/surveys/{token}":
        _success(operation).content = {
            "application/json": OpenAPIMediaType(schema=schemas.of(SurveyRead)),
            "text/html": OpenAPIMediaType(schema=_TEXT),
        }
    elif key == "POST /public/surveys/{token}":
        _success(operation).content = {
            "application/json": OpenAPIMediaType(schema=schemas.of(SurveyAnswered)),
            "text/html": OpenAPIMediaType(schema=_TEXT),
        }
        form = Schema(
            type=OpenAPIType.OBJECT,
            required=["answer"],
            properties={"answer": Schema(type=OpenAPIType.STRING, min_length=1), "reason": _TEXT},
        )
        operation.request_body = RequestBody(
            required=True,
            content={
                "application/json": OpenAPIMediaType(schema=schemas.of(SurveyAnswer)),
                "application/x-www-form-urlencoded": OpenAPIMediaType(schema=form),
            },
        )


def _import_form() -> RequestBody:
    text = {name: _TEXT for name in FORM_FIELDS if name != "dry_run"}
    text["delimiter"] = Schema(
        type=OpenAPIType.STRING, max_length=1, description="empty or absent: detected"
    )
    form = Schema(
        type=OpenAPIType.OBJECT,
        required=["file"],
        properties={
            "file": _BINARY,
            **text,
            "mapping": Schema(
                type=OpenAPIType.STRING,
                enum=list(SHIPPED),
                description="a shipped mapping; or give `mapping_toml`",
            ),
            "dry_run": Schema(type=OpenAPIType.BOOLEAN),
        },
        examples=[{"file": "complaints.csv", "mapping": "cfpb", "dry_run": True}],
    )
    return RequestBody(
        required=True, content={"multipart/form-data": OpenAPIMediaType(schema=form)}
    )


def _describe_replay(operation: Operation) -> None:
    """Intake answers 201 with a new case, and 200 with the case an earlier request with
    the same `Idempotency-Key` made (the same body as 201)."""
    created = _success(operation)
    responses = operation.responses or {}
    responses["200"] = OpenAPIResponse(
        description="The same request again with its Idempotency-Key: the case it made "
        "(`Idempotent-Replayed: true`).",
        content=copy.deepcopy(created.content),
        headers={
            **copy.deepcopy(created.headers or {}),
            "Idempotent-Replayed": OpenAPIHeader(schema=_TEXT, description="`true`"),
        },
    )
    operation.responses = dict(sorted(responses.items()))


def _describe_readiness(operation: Operation) -> None:
    state = Schema(
        type=OpenAPIType.OBJECT,
        required=["status", "database"],
        properties={"status": _TEXT, "database": _TEXT},
    )
    _success(operation).content = {"application/json": OpenAPIMediaType(schema=state)}
    responses = operation.responses or {}
    responses["503"] = OpenAPIResponse(
        description="The database does not answer; `database` names the error.",
        content={"application/json": OpenAPIMediaType(schema=state)},
    )
    operation.responses = responses


def expand_actions(openapi: OpenAPI, schemas: MsgspecSchemas) -> None:
    """One operation per lifecycle action, each with its own body, in place of the one
    route `POST /api/v1/cases/{case_id}/actions/{action}` that serves them all (an
    unknown action answers 404)."""
    paths = openapi.paths or {}
    item = paths.pop(ACTIONS_PATH, None)
    if item is None or item.post is None:
        return
    for action, struct in ACTION_BODIES.items():
        operation = copy.deepcopy(item.post)
        operation.operation_id = f"{operation.operation_id}_{action.value}"
        operation.summary = f"Case action `{action.value}`"
        operation.parameters = [
            p for p in operation.parameters or [] if getattr(p, "name", None) != "action"
        ]
        required = any(field.required for field in msgspec.structs.fields(struct))
        operation.request_body = RequestBody(
            required=required,
            content={"application/json": OpenAPIMediaType(schema=schemas.of(struct))},
        )
        paths[ACTIONS_PATH.replace("{action}", action.value)] = PathItem(post=operation)
    openapi.paths = paths
