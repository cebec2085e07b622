"""Every console route, called by tenant B's signed-in staff with tenant A's ids, answers
the console's 404 page and changes nothing.

The routes come from the app's own route table (everything under `/console`), so a page
added tomorrow is walked the day it lands. Each path parameter is filled by a maker of
`PARAMETERS` (tenant A's object of that name) or `SHARED_NAMES` (a name every tenant
has, like a queue's); a parameter with neither fails the test naming the route and the
parameter. Makers are the API walker's (`test_routes.ID_FACTORIES`) plus the ones
below; to cover a new page, add its parameter's maker here (see docs/console.md,
"Testing a new console page").

Tenant B's user holds every role and `pii`, so no refusal by role or permission can
hide a missing tenant check: a 404 here comes from the lookup. Each route is called as
a plain browser request and as an htmx request (pages answer fragments to htmx), the
unsafe ones with the session's valid CSRF token and a form that would be accepted for
tenant A's own staff.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncEngine
from test_route_access import _offline_app
from test_routes import ID_FACTORIES, IdFactory, _fingerprint

from closeloop.console.deps import console_caller
from closeloop.db import create_engine, sessionmaker, tenant_scope
from closeloop.identity.access import Audience, access, declared_access
from closeloop.identity.models import Role
from closeloop.imports.uploads import ImportUploadService
from closeloop.web.guards import CALLER_KEY
from support import PASSWORD, Client, TenantHandle, make_staff

# Console routes anyone may call: they show or change nothing of a tenant's.
PUBLIC_CONSOLE_ROUTES = {
    "/console/login": "the sign-in form and sign-in",
    "/console/logout": "sign-out ends the caller's own session",
    "/console/language/{code}": "the language cookie",
    "/console/static/{digest}/{file_path}": "the console's scripts and styles",
}


async def _queue_name(client: Client, owner: TenantHandle) -> str:
    return "all"  # the queue that shows the most


async def _metric_name(client: Client, owner: TenantHandle) -> str:
    return "volume"  # the figure that counts every case


# Path parameters naming something every tenant has (a queue, a report figure): tenant
# B's call shows or changes B's own, so the answer is not 404; it must still show none
# of A's ids and leave A's rows as they were.
SHARED_NAMES: dict[str, IdFactory] = {"name": _queue_name, "metric": _metric_name}


async def _import_upload_id(client: Client, owner: TenantHandle) -> str:
    """A file of A's kept by the console's import page (no API makes one). Written over
    a connection of this test's own loop: the served app's pool lives on another."""
    settings = client.app.state.settings
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            await tenant_scope(session, owner.id)
            uploads = ImportUploadService(session, actor="isolation-test", settings=settings)
            upload = await uploads.store(file_name="a.csv", data=b"title\nA's row\n")
            return str(upload.id)
    finally:
        await engine.dispose()


# Tenant A's objects by path parameter: the API walker's makers, and the console's own.
PARAMETERS: dict[str, IdFactory] = {**ID_FACTORIES, "upload_id": _import_upload_id}


class TenantA:
    """Tenant A's objects, each made once per test by its maker."""

    def __init__(self, client: Client, owner: TenantHandle) -> None:
        self.client = client
        self.owner = owner
        self.made: dict[str, str] = {}

    async def __call__(self, name: str) -> str:
        if name not in self.made:
            maker = PARAMETERS.get(name) or SHARED_NAMES[name]
            self.made[name] = await maker(self.client, self.owner)
        return self.made[name]

    async def everything(self) -> set[str]:
        """Every object a maker can make for A, and A's own ids: what B must never see."""
        for name in PARAMETERS:
            await self(name)
        return {*self.made.values(), str(self.owner.id), str(self.owner.admin_id)} - {
            value for name, value in self.made.items() if name in ("action",)
        }


# A's customers' details (the API walker's makers give them): B must never see them.
A_PII = ("a's customer", "13800000001", "13800000002")

FormMaker = Callable[[TenantA], Awaitable[dict[str, str]]]


async def _no_form(a: TenantA) -> dict[str, str]:
    return {}


def _form(**fields: str) -> FormMaker:
    async def make(a: TenantA) -> dict[str, str]:
        return dict(fields)

    return make


async def _assign_a_case(a: TenantA) -> dict[str, str]:
    return {
        "case_id": await a("case_id"),
        "lead_department_id": await a("department_id"),
        "handler_id": str(a.owner.admin_id),
    }


async def _schedule_form(a: TenantA) -> dict[str, str]:
    """A report e-mail to A's admin (valid for A's own admins)."""
    return {
        "name": "changed by another tenant",
        "frequency": "monthly",
        "locale": "en",
        "recipients": a.owner.admin_email,
        "active": "on",
    }


# A form per unsafe handler, valid for tenant A's own staff, so a missing tenant check
# would reach the change. A handler not listed here gets an empty form.
EXAMPLE_FORMS: dict[str, FormMaker] = {
    "take_action": _form(valid="true", note="verified by another tenant"),
    "edit_details": _form(title="renamed by another tenant", description="x", version="1"),
    "record": _form(outcome="resolved_satisfied", note="by another tenant"),
    "bulk_assign": _assign_a_case,
    "customer_lookup": _form(**{"customer.phone": "13800000002"}),
    "register_case": _form(
        kind="complaint", channel="phone", title="B's", description="B's", idempotency_key="b-1"
    ),
    "create_schedule": _schedule_form,
    "update_schedule": _schedule_form,
    "set_schedule_active": _form(active="false"),
}

# Files an upload handler takes with its form (multipart).
EXAMPLE_FILES: dict[str, dict[str, tuple[str, bytes, str]]] = {
    "upload": {"files": ("b.txt", b"another tenant's evidence", "text/plain")},
}

# Query strings a page needs to show what it is about.
EXAMPLE_QUERIES: dict[str, dict[str, str]] = {"extra_fields": {"kind": "complaint"}}

Route = tuple[str, str, str, tuple[tuple[str, type], ...]]


def _console_routes(app: Litestar) -> tuple[list[Route], set[str]]:
    """(method, path, handler, path parameters) of every tenant console route, and the
    paths of the public ones."""
    found: list[Route] = []
    public: set[str] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/console"):
            continue
        parameters = tuple((p.name, p.type) for p in route.path_parameters.values())
        for handler in route.route_handlers:
            methods = handler.http_methods - {"HEAD", "OPTIONS"}
            if not methods:
                continue
            declared = declared_access(handler.opt)
            if declared is not None and declared.audience is Audience.PUBLIC:
                public.add(route.path_format)
                continue
            found.extend((m, route.path_format, handler.handler_name, parameters) for m in methods)
    return sorted(found), public


def missing_makers(routes: list[Route]) -> list[str]:
    """'METHOD path: parameter' for each path parameter no maker can fill."""
    return [
        f"{method} {path}: {name}"
        for method, path, _, parameters in routes
        for name, _ in parameters
        if name not in PARAMETERS and name not in SHARED_NAMES
    ]


CONSOLE_ROUTES, PUBLIC_FOUND = _console_routes(_offline_app())
BY_ID = [r for r in CONSOLE_ROUTES if any(name not in SHARED_NAMES for name, _ in r[3])]
WITHOUT_IDS = [r for r in CONSOLE_ROUTES if r not in BY_ID]


def _route_id(route: Route) -> str:
    return f"{route[0]} {route[1]}"


def test_the_walk_covers_the_console() -> None:
    paths = {path for _, path, _, _ in CONSOLE_ROUTES}
    # The screens that exist today; pages added later are walked without being named here.
    for expected in ("/console/cases/{case_id}", "/console/inbox/{notification_id}/read"):
        assert expected in paths
    assert len(BY_ID) >= 10


def test_every_path_parameter_has_a_maker() -> None:
    missing = missing_makers(CONSOLE_ROUTES)
    assert not missing, (
        f"console routes with a path parameter the isolation walk cannot fill: {missing}; "
        "add a maker to PARAMETERS (tenant A's object) or SHARED_NAMES in "
        "tests/isolation/test_console_routes.py"
    )


def test_a_new_page_is_walked_and_its_unknown_parameter_named() -> None:
    @get(
        "/console/widgets/{widget_id:uuid}", opt={**access(Role.ADMIN), CALLER_KEY: console_caller}
    )
    async def widget(widget_id: FromPath[uuid.UUID]) -> str:
        return "a widget"

    routes, _ = _console_routes(_offline_app([widget]))
    assert ("GET", "/console/widgets/{widget_id}", "widget") in [r[:3] for r in routes]
    assert missing_makers(routes) == ["GET /console/widgets/{widget_id}: widget_id"]


def test_public_console_routes_are_the_known_ones() -> None:
    """A console route open to anyone is one of these, or the walk would skip a page."""
    assert set(PUBLIC_CONSOLE_ROUTES) == PUBLIC_FOUND, (
        f"console routes declared public: {sorted(PUBLIC_FOUND)}; a tenant's page must "
        "declare access(...) (or add it to PUBLIC_CONSOLE_ROUTES saying why it is open)"
    )


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


async def sign_in_everything(client: Client, tenant: TenantHandle) -> str:
    """Sign a user of `tenant` holding every role and `pii` in to the console on
    `client`; the CSRF token of their pages."""
    _, email = await make_staff(client, tenant, *(str(role) for role in Role), pii=True)
    form = await client.get("/console/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    signed_in = await client.post(
        "/console/login",
        data={"tenant": tenant.slug, "email": email, "password": PASSWORD, "_csrf_token": token[1]},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    home = await client.get("/console/")
    assert home.status_code == 200, home.text
    found = CSRF_META.search(home.text)
    assert found, home.text
    return found[1]


async def _call(
    client: Client, method: str, url: str, handler: str, a: TenantA, csrf: str, htmx: bool
) -> Any:
    headers = {"X-CSRFToken": csrf, **({"HX-Request": "true"} if htmx else {})}
    params = EXAMPLE_QUERIES.get(handler)
    if method == "GET":
        return await client.get(url, params=params, headers=headers, follow_redirects=False)
    form = await EXAMPLE_FORMS.get(handler, _no_form)(a)
    return await client.request(
        method,
        url,
        params=params,
        data={**form, "_csrf_token": csrf},
        files=EXAMPLE_FILES.get(handler),
        headers=headers,
        follow_redirects=False,
    )


def _page(html: str) -> str:
    """A page without what differs from one answer to the next (the CSRF token)."""
    return CSRF_META.sub("", html)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("route", BY_ID, ids=_route_id)
async def test_other_tenants_ids_answer_the_404_page(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner_engine: AsyncEngine,
    route: Route,
    htmx: bool,
) -> None:
    method, path, handler, parameters = route
    a = TenantA(client, tenant)
    values, unknown = {}, {}
    for name, kind in parameters:
        assert name in PARAMETERS or name in SHARED_NAMES, (
            f"{method} {path}: no maker for path parameter {name!r}; add one to PARAMETERS "
            "(tenant A's object) or SHARED_NAMES in tests/isolation/test_console_routes.py"
        )
        values[name] = await a(name)
        # The same route with an id nobody has: the 404 must not tell the two apart.
        unknown[name] = str(uuid.uuid4()) if kind is uuid.UUID else values[name]
    csrf = await sign_in_everything(client, other_tenant)

    before = await _fingerprint(owner_engine, tenant.id)
    answer = await _call(client, method, path.format(**values), handler, a, csrf, htmx)
    assert answer.status_code == 404, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert await _fingerprint(owner_engine, tenant.id) == before, f"{method} {path} changed A"
    nobodys = await _call(client, method, path.format(**unknown), handler, a, csrf, htmx)
    assert nobodys.status_code == 404, nobodys.text[:500]
    assert _page(answer.text) == _page(nobodys.text), f"{method} {path}: two different 404s"


@pytest.mark.parametrize("route", WITHOUT_IDS, ids=_route_id)
async def test_pages_without_ids_show_and_change_nothing_of_another_tenant(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner_engine: AsyncEngine,
    route: Route,
) -> None:
    method, path, handler, parameters = route
    a = TenantA(client, tenant)
    secrets = await a.everything()
    values = {name: await a(name) for name, _ in parameters}
    csrf = await sign_in_everything(client, other_tenant)
    # What B itself sent (a case id to assign) may be written back to B; nothing else of A.
    sent = set((await EXAMPLE_FORMS.get(handler, _no_form)(a)).values())

    before = await _fingerprint(owner_engine, tenant.id)
    for htmx in (False, True):
        answer = await _call(client, method, path.format(**values), handler, a, csrf, htmx)
        assert answer.status_code < 500, f"{method} {path}: {answer.text[:500]}"
        assert answer.status_code not in (401, 403), f"{method} {path}: refused B's own user"
        leaked = [s for s in (*secrets, *A_PII) if s in answer.text and s not in sent]
        assert not leaked, f"{method} {path} (htmx={htmx}) shows tenant A's {leaked}"
    assert await _fingerprint(owner_engine, tenant.id) == before, f"{method} {path} changed A"
