"""Malformed path, query and header values answer 4xx on every route and keep no connection.

The routes come from the app's own route table and each parameter's type from the
OpenAPI operation Litestar builds from the same signatures, so a new endpoint or a new
query parameter is covered the day it is added. A value is malformed when its declared
schema refuses it (a uuid that is not one, a boolean that is neither, a number out of
range, a word outside an enum, a string over its length); a path word names nothing.

The pool is small (two connections, two more on overflow): a request that kept its
connection after failing would starve the others, and another tenant with them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.settings import Settings
from support import OPERATOR, TenantHandle, make_tenant, served

# Documentation and metrics take no parameters worth malforming.
SKIPPED = ("/schema", "/metrics")
# Routes that take no caller: a bearer header is not theirs to refuse.
PUBLIC = ("/public/", "/health/", "/api/v1/auth/login")
BAD_TOKEN = "not.a.token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A generous wait for a connection: this is about connections kept, not about overload.
    return dataclasses.replace(settings, db_pool_size=2, db_pool_timeout_ms=30_000)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with served(app) as served_client:
        yield served_client


@pytest.fixture
def without_gc() -> Iterator[None]:
    """A connection comes back because the request gave it back, not because the garbage
    collector found it: in a long-running process that can take minutes."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclasses.dataclass(frozen=True)
class Probe:
    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    why: str

    def __str__(self) -> str:
        query = "&".join(f"{k}={v[:40]}" for k, v in self.query.items())
        return f"{self.method} {self.url}{'?' + query if query else ''} ({self.why})"


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null schemas a parameter may take (`oneOf`/`anyOf` or a type list)."""
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    found = []
    for option in options:
        kind = option.get("type")
        if kind == "null":
            continue
        if isinstance(kind, list):
            option = {**option, "type": next((k for k in kind if k != "null"), None)}
        found.append({**schema, **option})
    return found


def malformed_values(schema: dict[str, Any]) -> list[str]:
    """Values the parameter's schema refuses; none for a free string."""
    values: list[str] = []
    for option in _alternatives(schema):
        kind, fmt = option.get("type"), option.get("format")
        if fmt == "uuid":
            values += ["0", "not-a-uuid"]
        elif fmt == "date":
            values.append("2026-13-45")
        elif fmt == "date-time":
            values.append("yesterday")
        elif kind == "boolean":
            values.append("maybe")
        elif kind in ("integer", "number"):
            values.append("many")
            if "maximum" in option:
                values.append(str(int(option["maximum"]) + 1))
            if "minimum" in option:
                values.append(str(int(option["minimum"]) - 1))
        elif kind == "string":
            if "enum" in option or "pattern" in option:
                values.append("no-such-value")
            if "maxLength" in option:
                values.append("x" * (int(option["maxLength"]) + 1))
    return values


def _path_value(kind: type) -> str:
    """A well-formed path value that names nothing."""
    return str(uuid.uuid4()) if kind is uuid.UUID else f"no-such-{uuid.uuid4().hex[:8]}"


def _caller(path: str, tenant: TenantHandle) -> dict[str, str]:
    if path.startswith("/platform/"):
        return dict(OPERATOR)
    if path.startswith(PUBLIC):
        return {}
    return tenant.headers


def probes(app: Litestar, tenant: TenantHandle) -> list[Probe]:
    """One request per malformed value of every route, all else well-formed."""
    spec = app.openapi_schema.to_schema()
    found: list[Probe] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(SKIPPED):
            continue
        path_types = {name: p.type for name, p in route.path_parameters.items()}
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue  # pages (the console, its files) are not the API
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                # The document shows the one lifecycle route as one operation per action
                # (`.../actions/verify`...); its own path then has no entry there.
                operation = spec["paths"].get(route.path_format, {}).get(method.lower(), {})
                parameters = operation.get("parameters", [])
                well_formed = {name: _path_value(kind) for name, kind in path_types.items()}
                caller = _caller(route.path, tenant)

                def probe(
                    why: str,
                    path: dict[str, str] | None = None,
                    query: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None,
                    *,
                    method: str = method,
                    route: HTTPRoute = route,
                    well_formed: dict[str, str] = well_formed,
                    caller: dict[str, str] = caller,
                ) -> Probe:
                    url = route.path_format.format(**{**well_formed, **(path or {})})
                    return Probe(method, url, {**caller, **(headers or {})}, query or {}, why)

                for name, kind in path_types.items():
                    if kind is uuid.UUID:
                        found.append(probe(f"path {name}", path={name: "not-a-uuid"}))
                    else:  # a word that names nothing
                        found.append(probe(f"path {name}"))
                for parameter in parameters:
                    where, name = parameter["in"], parameter["name"]
                    for value in malformed_values(parameter.get("schema", {})):
                        if where == "query":
                            found.append(probe(f"query {name}", query={name: value}))
                        elif where == "header":
                            found.append(probe(f"header {name}", headers={name: value}))
                if caller:
                    found.append(probe("bearer token", headers={"Authorization": BAD_TOKEN}))
                    found.append(
                        probe("bearer token", headers={"Authorization": f"Bearer {BAD_TOKEN}"})
                    )
    return found


async def _send(client: httpx.AsyncClient, probe: Probe) -> tuple[Probe, int, str]:
    body = {} if probe.method in ("POST", "PUT", "PATCH") else None
    response = await client.request(
        probe.method, probe.url, params=probe.query, headers=probe.headers, json=body
    )
    return probe, response.status_code, response.text[:200]


def test_every_parameter_kind_is_probed(app: Litestar) -> None:
    handle = TenantHandle(uuid.uuid4(), "t", "a@t.example.com", uuid.uuid4(), "token")
    reasons = {p.why.split()[0] for p in probes(app, handle)}
    assert reasons == {"path", "query", "header", "bearer"}
    assert any(p.query.get("department") == "0" for p in probes(app, handle))


@pytest.mark.usefixtures("without_gc")
async def test_malformed_values_answer_4xx_and_give_every_connection_back(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, "acme")
    sent = probes(app, tenant)
    answers = await asyncio.gather(*(_send(client, probe) for probe in sent))

    wrong = [f"{probe}: {status} {text}" for probe, status, text in answers if status // 100 != 4]
    assert not wrong, f"{len(wrong)} of {len(sent)} answers are not 4xx:\n" + "\n".join(wrong)
    engine: AsyncEngine = app.state.engine
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.usefixtures("without_gc")
async def test_another_tenant_is_served_while_one_sends_malformed_filters(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, "acme")
    other_tenant = await make_tenant(client, "globex")
    attack = [
        ("/api/v1/cases", {"department": "0"}),
        ("/api/v1/cases", {"assignee": "not-a-uuid"}),
        ("/api/v1/cases", {"breached": "maybe"}),
        ("/api/v1/cases/export", {"department": "0"}),
    ]

    async def attacker() -> list[int]:
        statuses = []
        for _ in range(3):  # waves: each outlasts the pool if connections were kept
            waves = await asyncio.gather(
                *(
                    client.get(path, params=query, headers=tenant.headers)
                    for path, query in attack * 5
                )
            )
            statuses += [r.status_code for r in waves]
        return statuses

    async def neighbour() -> list[int]:
        statuses = []
        for _ in range(5):
            response = await client.get("/api/v1/categories", headers=other_tenant.headers)
            statuses.append(response.status_code)
            await asyncio.sleep(0.05)
        return statuses

    attacked, served = await asyncio.gather(attacker(), neighbour())
    assert served == [200] * 5
    assert set(attacked) == {400}
    engine: AsyncEngine = app.state.engine
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
