"""Every route declares who may call it, the declarations match docs/roles.md, and the
app-wide guard refuses a caller before the handler runs.

The routes come from the app's own route table (API, operator, public and console), so a
route added without `opt=access(...)`, `public(...)` or `operator()` fails here the day
it is added. When a declaration changes on purpose, regenerate the table in
docs/roles.md with `PYTHONPATH=tests python tests/isolation/test_route_access.py` and
review the diff.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import AsyncTestClient

from closeloop.cases.lifecycle import RULES
from closeloop.console.deps import console_caller
from closeloop.identity.access import ALL_ROLES, Access, Audience, access
from closeloop.identity.models import Role
from closeloop.settings import Settings, load_settings
from closeloop.web.app import create_app
from closeloop.web.deps import DbSession
from closeloop.web.guards import CALLER_KEY, route_access
from support import PASSWORD, Client, TenantHandle, bearer, login

ROLES_DOC = Path(__file__).parents[2] / "docs" / "roles.md"
BEGIN, END = "<!-- routes:begin -->", "<!-- routes:end -->"
ANY_ROLE = "any role"


def _offline_app(extra: list[Any] | None = None) -> Litestar:
    settings = load_settings(
        {
            "CLOSELOOP_SECRET_KEY": "x" * 32,
            "CLOSELOOP_MASTER_KEY": "A" * 43,
            "DATABASE_URL": "postgresql://u@h/d",
        }
    )
    return create_app(settings, extra_route_handlers=extra)


def undeclared_routes(app: Litestar) -> list[str]:
    """'METHOD path' of every route of `app` whose merged opt declares no access."""
    return [f"{method} {path}" for method, path, found in route_access(app) if found is None]


def who(declared: Access) -> str:
    """A declaration as the role table writes it."""
    if declared.audience is not Audience.TENANT:
        return declared.audience.value
    roles = (
        ANY_ROLE
        if declared.roles == frozenset(ALL_ROLES)
        else ", ".join(role.value for role in Role if role in declared.roles)
    )
    permissions = "".join(f" + {p.value}" for p in sorted(declared.permissions))
    return roles + permissions


def declared_table(app: Litestar) -> dict[tuple[str, str], str]:
    return {
        (method, path): who(found) for method, path, found in route_access(app) if found is not None
    }


def render_table(table: dict[tuple[str, str], str]) -> str:
    lines = ["| Method | Path | Who may call it |", "|---|---|---|"]
    lines += [f"| {m} | `{p}` | {w} |" for (m, p), w in sorted(table.items(), key=_by_path)]
    return "\n".join(lines)


def _by_path(item: tuple[tuple[str, str], str]) -> tuple[str, str]:
    (method, path), _ = item
    return path, method


def documented_table(text: str) -> dict[tuple[str, str], str]:
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = re.findall(r"^\| (\w+) \| `([^`]+)` \| ([^|]+?) \|$", section, re.MULTILINE)
    return {(method, path): roles for method, path, roles in rows}


# -- (a) every route declares who may call it ------------------------------------------------


def test_every_route_declares_who_may_call_it() -> None:
    app = _offline_app()
    assert len(route_access(app)) > 50
    undeclared = undeclared_routes(app)
    assert not undeclared, (
        "routes without opt=access(...), public(...) or operator() "
        f"(closeloop.identity.access): {undeclared}"
    )


def test_console_pages_are_in_the_walk() -> None:
    paths = {path for _, path, _ in route_access(_offline_app())}
    assert {"/console", "/console/login", "/metrics", "/schema/openapi.json"} <= paths


# -- (b) the check reports a route added without a declaration -------------------------------


@get("/api/v1/forgotten", sync_to_thread=False)
def forgotten() -> dict[str, str]:
    return {}


@post("/console/forgotten", sync_to_thread=False)
def forgotten_page() -> None:
    return None


def test_a_route_without_a_declaration_is_reported() -> None:
    app = _offline_app([forgotten, forgotten_page])
    assert undeclared_routes(app) == ["GET /api/v1/forgotten", "POST /console/forgotten"]


async def test_a_route_without_a_declaration_fails_closed(settings: Settings) -> None:
    app = create_app(settings, extra_route_handlers=[forgotten])
    async with AsyncTestClient(app=app) as plain:
        response = await plain.get("/api/v1/forgotten")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


# -- (c) the declarations are the role table of docs/roles.md --------------------------------


def test_declared_roles_match_the_role_table_in_the_docs() -> None:
    declared = declared_table(_offline_app())
    documented = documented_table(ROLES_DOC.read_text(encoding="utf-8"))
    assert documented, f"no route table between {BEGIN} and {END} in docs/roles.md"
    problems = [
        f"{m} {p}: declared {declared.get((m, p), 'nothing')!r}, "
        f"docs/roles.md says {documented.get((m, p), 'nothing')!r}"
        for m, p in sorted(declared.keys() | documented.keys())
        if declared.get((m, p)) != documented.get((m, p))
    ]
    assert not problems, (
        "docs/roles.md and the routes disagree (regenerate with "
        "`PYTHONPATH=tests python tests/isolation/test_route_access.py`):\n" + "\n".join(problems)
    )


def test_the_action_route_admits_every_role_the_lifecycle_table_names() -> None:
    [declared] = [
        found
        for method, path, found in route_access(_offline_app())
        if (method, path) == ("POST", "/api/v1/cases/{case_id}/actions/{action}")
    ]
    assert declared is not None
    named = frozenset().union(*(rule.roles for rule in RULES.values()))
    assert named <= declared.roles


# -- the guard refuses before the handler runs -----------------------------------------------

ran: list[str] = []


@post("/api/v1/test/admins-only", opt=access(Role.ADMIN), status_code=200)
async def admins_only(request: Request[Any, Any, Any]) -> dict[str, str]:
    ran.append(request.url.path)
    return {"ran": "yes"}


@post("/api/v1/test/admins-only-writing", opt=access(Role.ADMIN), status_code=200)
async def admins_only_writing(request: Request[Any, Any, Any], db_session: DbSession) -> None:
    """Takes the request's transaction: `db_session` settles the check as it hands it over."""
    ran.append(request.url.path)


@get("/console/test/admins-only", opt={**access(Role.ADMIN), CALLER_KEY: console_caller})
async def admins_only_page(request: Request[Any, Any, Any]) -> str:
    ran.append(request.url.path)
    return "ran"


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[Client]:
    ran.clear()
    app = create_app(
        settings, extra_route_handlers=[admins_only, admins_only_writing, admins_only_page]
    )
    async with AsyncTestClient(app=app) as test_client:
        test_client.follow_redirects = False
        yield test_client


async def _agent(client: Client, tenant: TenantHandle) -> dict[str, str]:
    email = "agent@acme.example.com"
    created = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": email,
            "display_name": "Agent",
            "password": PASSWORD,
            "roles": ["agent"],
        },
    )
    assert created.status_code == 201, created.text
    return bearer(await login(client, tenant.slug, email))


async def test_a_wrong_role_is_refused_before_the_handler_runs(guarded: Client) -> None:
    from support import make_tenant

    tenant = await make_tenant(guarded, "acme")
    agent = await _agent(guarded, tenant)

    for path in ("/api/v1/test/admins-only", "/api/v1/test/admins-only-writing"):
        refused = await guarded.post(path, headers=agent)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "role_required"
        unauthenticated = await guarded.post(path)
        assert unauthenticated.status_code == 401
        assert ran == []

        allowed = await guarded.post(path, headers=tenant.headers)
        assert allowed.status_code == 200, allowed.text
        assert ran == [path]
        ran.clear()


async def test_a_console_user_without_the_role_gets_the_console_403_page(
    guarded: Client,
) -> None:
    from support import make_tenant

    tenant = await make_tenant(guarded, "acme")
    await _agent(guarded, tenant)
    page = await guarded.get("/console/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    signed_in = await guarded.post(
        "/console/login",
        data={
            "tenant": tenant.slug,
            "email": "agent@acme.example.com",
            "password": PASSWORD,
            "_csrf_token": token.group(1),
        },
    )
    assert signed_in.status_code == 303, signed_in.text

    refused = await guarded.get("/console/test/admins-only", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "Not allowed" in refused.text
    assert ran == []
    guarded.cookies.clear()
    signed_out = await guarded.get("/console/test/admins-only")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/console/login")


if __name__ == "__main__":  # regenerate the route table of docs/roles.md
    text = ROLES_DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    table = render_table(declared_table(_offline_app()))
    ROLES_DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")
    sys.stdout.write(f"wrote {ROLES_DOC}\n")
