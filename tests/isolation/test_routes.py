"""Every tenant route, called by tenant B with tenant A's ids, answers 404 and changes nothing.

The routes come from the app's own route table, so a new endpoint is covered the
day it is added. A path parameter this file cannot fill, or a body it has no
example for, fails the test with a message saying what to add here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import Base, TenantOwned
from closeloop.models import load_all_models
from closeloop.settings import load_settings
from closeloop.web.app import create_app
from support import Client, TenantHandle

# Routes that belong to no tenant (operators, operations, documentation, login) or name
# their tenant in the path (the public customer pages, tested in their own files).
NOT_TENANT_ROUTES = (
    "/platform/",
    "/public/",
    "/health/",
    "/metrics",
    "/schema",
    "/api/v1/auth/login",
    # The staff console's pages: cookie sessions, not bearer tokens; the same walk for
    # them (another tenant's ids answer the 404 page) is test_console_routes.py.
    "/console",
)

# Tenant A's objects, by the path parameter that names them.
IdFactory = Callable[[Client, TenantHandle], Awaitable[str]]


async def _user_id(client: Client, owner: TenantHandle) -> str:
    return str(owner.admin_id)


async def _key_id(client: Client, owner: TenantHandle) -> str:
    response = await client.post(
        "/api/v1/api-keys/", headers=owner.headers, json={"name": "a's key", "scopes": ["agent"]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _customer_id(client: Client, owner: TenantHandle) -> str:
    # No HTTP route creates a bare customer; intake's service does, in tenant A's scope.
    from closeloop.customers import CustomerInput, CustomerService
    from closeloop.db import create_engine, sessionmaker, transaction

    settings = client.app.state.settings
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine), owner.id) as session:
            customer = await CustomerService(
                session, principal=None, settings=settings
            ).resolve_for_intake(CustomerInput(nickname="a's customer", phone="13800000001"))
    finally:
        await engine.dispose()
    return str(customer.id)


def _config_item(path: str, body: dict[str, Any]) -> IdFactory:
    """Tenant A's own configuration item (category, severity, department, ...)."""

    async def make(client: Client, owner: TenantHandle) -> str:
        response = await client.post(path, headers=owner.headers, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return make


ID_FACTORIES: dict[str, IdFactory] = {
    "user_id": _user_id,
    "key_id": _key_id,
    "customer_id": _customer_id,
    "category_id": _config_item("/api/v1/categories/", {"code": "a-only", "name_en": "A's"}),
    "severity_id": _config_item(
        "/api/v1/severities/", {"code": "a-only", "name_en": "A's", "rank": 50}
    ),
    "department_id": _config_item("/api/v1/departments/", {"code": "a-only", "name_en": "A's"}),
    "channel_id": _config_item("/api/v1/channels/", {"code": "a-only", "name_en": "A's"}),
    "demand_type_id": _config_item("/api/v1/demand-types/", {"code": "a-only", "name_en": "A's"}),
}

# A valid body per handler that takes one, so the request reaches the lookup.
EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "update_user": {"display_name": "renamed by another tenant"},
    "update_category": {"name_en": "renamed by another tenant"},
    "update_severity": {"name_en": "renamed by another tenant"},
    "update_department": {"name_en": "renamed by another tenant"},
    "update_channel": {"name_en": "renamed by another tenant"},
    "update_demand_type": {"name_en": "renamed by another tenant"},
}


_intake_cases: dict[tuple[int, uuid.UUID], str] = {}


async def _case_via_intake(client: Client, owner: TenantHandle) -> str:
    """Tenant A's case, registered through intake (one per test: the attachment goes on it)."""
    key = (id(client), owner.id)
    if key not in _intake_cases:
        response = await client.post(
            "/api/v1/cases",
            headers=owner.headers,
            json={
                "kind": "complaint",
                "channel": "phone",
                "title": "A's case",
                "description": "A's case",
                "customer": {"nickname": "a's customer", "phone": "13800000002"},
            },
        )
        assert response.status_code == 201, response.text
        _intake_cases[key] = str(response.json()["id"])
    return _intake_cases[key]


async def _attachment_id(client: Client, owner: TenantHandle) -> str:
    """An evidence file on tenant A's case (stored in a temporary folder)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from closeloop.storage import LocalStorage

    if client.app.state.get("attachment_storage") is None:
        folder = tempfile.mkdtemp(prefix="closeloop-isolation-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        client.app.state.attachment_storage = LocalStorage(Path(folder))
    case_id = await _case_via_intake(client, owner)
    response = await client.post(
        f"/api/v1/cases/{case_id}/attachments",
        headers=owner.headers,
        files={"file": ("a.txt", b"tenant A's evidence", "text/plain")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# Intake, one case, its edits and attachments (/api/v1/cases/{case_id}/attachments/...).
# PATCH needs no If-Match here: the case lookup answers 404 before the header is looked at.
ID_FACTORIES["case_id"] = _case_via_intake
ID_FACTORIES["attachment_id"] = _attachment_id
EXAMPLE_BODIES["update_case"] = {"title": "renamed by another tenant"}


async def _action(client: Client, owner: TenantHandle) -> str:
    return "verify"  # a real action: the 404 must come from the case lookup


# The lifecycle routes: /api/v1/cases/{case_id}/actions/{action} (case_id: intake's, above).
ID_FACTORIES["action"] = _action
EXAMPLE_BODIES["take_action"] = {"valid": True}

# Business calendars: /api/v1/calendars/{calendar_id} and .../days.
ID_FACTORIES["calendar_id"] = _config_item("/api/v1/calendars/", {"code": "a-only", "name": "A's"})
EXAMPLE_BODIES["update_calendar"] = {"name": "renamed by another tenant"}

# SLA policies: /api/v1/sla-policies/{sla_policy_id} (a case's clocks: case_id, above).
ID_FACTORIES["sla_policy_id"] = _config_item(
    "/api/v1/sla-policies/",
    {
        "code": "a-only",
        "name": "A's",
        "targets": {"first_response": {"unit": "calendar", "hours": 2}},
    },
)
EXAMPLE_BODIES["update_sla_policy"] = {"name": "renamed by another tenant"}


async def _notification_id(client: Client, owner: TenantHandle) -> str:
    """An in-app notification to tenant A's admin (made by the notify service)."""
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.notify.service import notify_staff

    engine = create_engine(client.app.state.settings.database_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine), owner.id) as session:
            made = await notify_staff(
                session, user_ids=[owner.admin_id], event="escalation", case=None, context={}
            )
    finally:
        await engine.dispose()
    return str(next(n.id for n in made if n.channel == "inbox"))


# Notifications: /api/v1/templates/{template_id}, /api/v1/webhooks/{webhook_id}[/deliveries],
# /api/v1/notifications/{notification_id}, /api/v1/inbox/{notification_id}/read.
ID_FACTORIES["template_id"] = _config_item(
    "/api/v1/templates/",
    {"event": "result", "channel": "email", "locale": "en", "subject": "A", "body": "A's"},
)
ID_FACTORIES["webhook_id"] = _config_item(
    "/api/v1/webhooks/",
    {"url": "https://a.example.com/hook", "secret": "a" * 20, "events": ["result"]},
)
ID_FACTORIES["notification_id"] = _notification_id
EXAMPLE_BODIES["update_template"] = {"body": "renamed by another tenant"}
EXAMPLE_BODIES["update_webhook"] = {"description": "renamed by another tenant"}


# Path parameters that name something all tenants share rather than one tenant's object.
# Tenant B naming it acts on B's own setup of it, so the answer is not 404; what must
# hold instead is checked by test_shared_names_touch_only_the_callers_own_rows: B's call
# leaves every row of tenant A as it was. Each entry makes tenant A's own setup of the
# thing first and gives the value to put in the path.
async def _plugin_name(client: Client, owner: TenantHandle) -> str:
    # The built-in plugin `intake_checks`, which tenant A has switched off.
    response = await client.put(
        "/api/v1/plugins/intake_checks", headers=owner.headers, json={"enabled": False}
    )
    assert response.status_code == 200, response.text
    return "intake_checks"


async def _metric(client: Client, owner: TenantHandle) -> str:
    """A report figure's name; tenant A has a case it counts."""
    await _case_via_intake(client, owner)
    return "volume"


async def _order_days_from(client: Client, owner: TenantHandle) -> str:
    """Days of an order volume; tenant A recorded its own for them."""
    response = await client.put(
        "/api/v1/reports/order-volumes/2026-10-01/2026-10-31",
        headers=owner.headers,
        json={"orders": 1000},
    )
    assert response.status_code == 200, response.text
    return "2026-10-01"


async def _order_days_to(client: Client, owner: TenantHandle) -> str:
    return "2026-10-31"


SHARED_FACTORIES: dict[str, IdFactory] = {
    # An installed plugin's name is the same for every tenant; each has its own setup.
    "plugin_name": _plugin_name,
    # Report figures and the days of order volumes: names and dates, not rows.
    "metric": _metric,
    "date_from": _order_days_from,
    "date_to": _order_days_to,
}
EXAMPLE_BODIES["update_plugin"] = {"enabled": True, "settings": {}}
EXAMPLE_BODIES["put_order_volume"] = {"orders": 5}


def _shared(path: str) -> bool:
    import string

    return any(name in SHARED_FACTORIES for _, name, _, _ in string.Formatter().parse(path) if name)


async def _followup_id(client: Client, owner: TenantHandle) -> str:
    """A follow-up on tenant A's case (scheduled by the follow-up service)."""
    from closeloop.cases.models import Case
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.followups.service import FollowupService

    case_id = uuid.UUID(await _case_via_intake(client, owner))
    engine = create_engine(client.app.state.settings.database_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine), owner.id) as session:
            case = await session.get(Case, (owner.id, case_id))
            assert case is not None
            task = await FollowupService(session).schedule(case)
            assert task is not None
    finally:
        await engine.dispose()
    return str(task.id)


# Follow-ups: /api/v1/followups/{followup_id}[/assign].
ID_FACTORIES["followup_id"] = _followup_id
EXAMPLE_BODIES["assign_followup"] = {"assignee_id": "00000000-0000-4000-8000-000000000000"}


async def _import_run_id(client: Client, owner: TenantHandle) -> str:
    """Tenant A's import run, queued (no worker runs here)."""
    response = await client.post(
        "/api/v1/imports",
        headers=owner.headers,
        files={"file": ("a.csv", b"Text\nA's complaint\n", "text/csv")},
        data={"mapping_toml": '[fields]\ndescription = "Text"\nchannel = { value = "phone" }\n'},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


# Imports: /api/v1/imports/{run_id}[/errors.csv|/undo].
ID_FACTORIES["run_id"] = _import_run_id


async def _report_schedule_id(client: Client, owner: TenantHandle) -> str:
    """Tenant A's weekly report e-mail to its admin."""
    make = _config_item(
        "/api/v1/report-schedules",
        {"frequency": "weekly", "recipients": [str(owner.admin_id)]},
    )
    return await make(client, owner)


# Report schedules: /api/v1/report-schedules/{report_schedule_id}.
ID_FACTORIES["report_schedule_id"] = _report_schedule_id
EXAMPLE_BODIES["update_report_schedule"] = {"active": False}


def _tenant_routes() -> list[tuple[str, str, str]]:
    settings = load_settings(
        {
            "CLOSELOOP_SECRET_KEY": "x" * 32,
            "CLOSELOOP_MASTER_KEY": "A" * 43,
            "DATABASE_URL": "postgresql://u@h/d",
        }
    )
    app = create_app(settings)
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_TENANT_ROUTES):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in ("HEAD", "OPTIONS"):
                    continue
                found.append((method, route.path_format, handler.handler_name))
    return sorted(found)


TENANT_ROUTES = _tenant_routes()


def test_route_table_is_not_empty() -> None:
    assert any("{" in path for _, path, _ in TENANT_ROUTES)


async def _fingerprint(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, str]:
    """A digest of every tenant table's rows of one tenant, read as the owner."""
    load_all_models()
    tables = sorted(
        m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
    )  # type: ignore[union-attr]
    digests = {}
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        for table in tables:
            digests[table] = (
                await conn.execute(
                    text(
                        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                        f' FROM "{table}" t'
                    )
                )
            ).scalar_one()
    return digests


@pytest.mark.parametrize(
    ("method", "path", "handler"), [r for r in TENANT_ROUTES if "{" in r[1] and not _shared(r[1])]
)
async def test_other_tenants_ids_answer_404(
    app: Litestar,
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner_engine: AsyncEngine,
    method: str,
    path: str,
    handler: str,
) -> None:
    values = {}
    for name in _path_parameters(path):
        factory = ID_FACTORIES.get(name)
        assert factory is not None, (
            f"add an ID_FACTORIES entry for path parameter {name!r} ({path})"
        )
        values[name] = await factory(client, tenant)
    url = path.format(**values)
    takes_body = method in ("POST", "PATCH", "PUT") and _has_body(app, handler)
    body = EXAMPLE_BODIES.get(handler) if takes_body else None
    assert not takes_body or body is not None, f"add an EXAMPLE_BODIES entry for {handler!r}"

    before = await _fingerprint(owner_engine, tenant.id)
    response = await client.request(method, url, headers=other_tenant.headers, json=body)
    assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.text}"
    assert response.json()["error"]["code"] == "not_found"
    assert await _fingerprint(owner_engine, tenant.id) == before


@pytest.mark.parametrize(("method", "path", "handler"), [r for r in TENANT_ROUTES if _shared(r[1])])
async def test_shared_names_touch_only_the_callers_own_rows(
    app: Litestar,
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner_engine: AsyncEngine,
    method: str,
    path: str,
    handler: str,
) -> None:
    values = {}
    for name in _path_parameters(path):
        factory = SHARED_FACTORIES.get(name) or ID_FACTORIES.get(name)
        assert factory is not None, (
            f"add an ID_FACTORIES entry for path parameter {name!r} ({path})"
        )
        values[name] = await factory(client, tenant)
    url = path.format(**values)
    takes_body = method in ("POST", "PATCH", "PUT") and _has_body(app, handler)
    body = EXAMPLE_BODIES.get(handler) if takes_body else None
    assert not takes_body or body is not None, f"add an EXAMPLE_BODIES entry for {handler!r}"

    before = await _fingerprint(owner_engine, tenant.id)
    response = await client.request(method, url, headers=other_tenant.headers, json=body)
    assert response.status_code < 400, f"{method} {url}: {response.status_code} {response.text}"
    assert await _fingerprint(owner_engine, tenant.id) == before


@pytest.mark.parametrize(
    ("method", "path", "handler"), [r for r in TENANT_ROUTES if "{" not in r[1] and r[0] == "GET"]
)
async def test_listings_never_show_other_tenants_rows(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    method: str,
    path: str,
    handler: str,
) -> None:
    a_ids = {str(tenant.id), str(tenant.admin_id)}
    for factory in ID_FACTORIES.values():
        a_ids.add(await factory(client, tenant))
    response = await client.get(path, headers=other_tenant.headers)
    assert response.status_code == 200, response.text
    leaked = [value for value in a_ids if value in response.text]
    assert not leaked, f"GET {path} as tenant B shows tenant A's ids {leaked}"


def _path_parameters(path: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def _has_body(app: Litestar, handler_name: str) -> bool:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.handler_name == handler_name:
                return "data" in handler.parsed_fn_signature.parameters
    return False
