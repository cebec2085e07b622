"""The import API: admins upload, the run goes through the outbox to the worker, its
status, errors and undo; others are refused, other tenants' runs are not found."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import dramatiq
import pytest
from import_support import count, user_headers
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from support import Client, TenantHandle, import_worker, make_tenant

FILE = (
    "Id,Opened,Topic,Text\n"
    "h-1,2024-11-03,logistics_delay,快递延误\n"
    "h-2,2024-11-04,no-such-topic,未知类别\n"
    "h-3,2024-11-05,product_quality,质量问题\n"
).encode()
MAPPING = """
name = "helpdesk"
[fields]
external_id = "Id"
description = "Text"
received_at = "Opened"
channel = { value = "phone" }
category = "Topic"
"""


async def _upload(client: Client, headers: dict[str, str], **form: Any) -> Any:
    return await client.post(
        "/api/v1/imports",
        headers=headers,
        files={"file": ("helpdesk.csv", FILE, "text/csv")},
        data={"mapping_toml": MAPPING, **form},
    )


async def _finished(client: Client, tenant: TenantHandle, run_id: str) -> dict[str, Any]:
    for _ in range(200):
        response = await client.get(f"/api/v1/imports/{run_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run did not finish: {body}")


@pytest.fixture
async def broker(database: Provisioned, settings: Settings) -> AsyncIterator[dramatiq.Broker]:
    async with import_worker(database.app_url, settings) as running:
        yield running


async def test_an_admin_imports_through_the_api_in_the_background(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    broker: dramatiq.Broker,
) -> None:
    response = await _upload(client, tenant.headers)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"

    await Relay(app_engine, broker).drain()
    run = await _finished(client, tenant, queued["id"])

    assert run["status"] == "done", run
    assert (run["rows"], run["created"], run["errors"]) == (3, 2, 1)
    assert (run["encoding"], run["delimiter"]) == ("utf-8", ",")
    errors = await client.get(f"/api/v1/imports/{run['id']}/errors.csv", headers=tenant.headers)
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("text/csv")
    lines = errors.text.splitlines()
    assert lines[0] == "row,column,field,value,reason"
    assert lines[1].startswith("3,Topic,category,no-such-topic,")
    listed = await client.get("/api/v1/imports", headers=tenant.headers)
    assert [r["id"] for r in listed.json()] == [run["id"]]
    # Only the run's message went through the outbox: nothing for customers.
    assert await count(owner_engine, tenant, "outbox_messages") == 1
    assert await count(owner_engine, tenant, "notifications") == 0

    undone = await client.post(f"/api/v1/imports/{run['id']}/undo", headers=tenant.headers)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone"
    assert await count(owner_engine, tenant, "cases") == 0
    again = await client.post(f"/api/v1/imports/{run['id']}/undo", headers=tenant.headers)
    assert again.status_code == 409


async def test_a_dry_run_writes_no_case(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    broker: dramatiq.Broker,
) -> None:
    response = await _upload(client, tenant.headers, dry_run="true")
    assert response.status_code == 202, response.text
    await Relay(app_engine, broker).drain()
    run = await _finished(client, tenant, response.json()["id"])
    assert (run["dry_run"], run["created"], run["errors"]) == (True, 2, 1)
    assert await count(owner_engine, tenant, "cases") == 0


async def test_only_admins_import_and_other_tenants_runs_are_not_found(
    client: Client, tenant: TenantHandle
) -> None:
    agent = await user_headers(client, tenant, "agent")
    supervisor = await user_headers(client, tenant, "supervisor")
    for headers in (agent, supervisor):
        assert (await _upload(client, headers)).status_code == 403
        assert (await client.get("/api/v1/imports", headers=headers)).status_code == 403
    response = await _upload(client, tenant.headers)
    assert response.status_code == 202
    run_id = response.json()["id"]
    other = await make_tenant(client, "other-co")
    for path in (f"/api/v1/imports/{run_id}", f"/api/v1/imports/{run_id}/errors.csv"):
        assert (await client.get(path, headers=other.headers)).status_code == 404
    undo = await client.post(f"/api/v1/imports/{run_id}/undo", headers=other.headers)
    assert undo.status_code == 404
    missing = await client.get(f"/api/v1/imports/{uuid.uuid4()}", headers=tenant.headers)
    assert missing.status_code == 404


async def test_a_wrong_mapping_is_refused_with_its_line(
    client: Client, tenant: TenantHandle
) -> None:
    response = await _upload(client, tenant.headers, mapping_toml="[fields]\nrecieved_at = 'x'\n")
    assert response.status_code == 422
    assert "recieved_at" in response.text
    response = await client.post(
        "/api/v1/imports",
        headers=tenant.headers,
        files={"file": ("a.csv", FILE, "text/csv")},
        data={"mapping": "nope"},
    )
    assert response.status_code == 422
