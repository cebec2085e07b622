"""A tenant leaves: the operator dumps it (export), suspends it, deletes it with the
confirmation token; then no row of it is left in any tenant table, its files are gone,
and the other tenant is untouched."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.provision import Provisioned
from closeloop.settings import Settings
from closeloop.storage import storage_from_settings
from closeloop.tenancy._dump import dump_tenant
from support import OPERATOR, Client, TenantHandle, run_closeloop

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """A data folder of this test's own: attachments are written there."""
    return dataclasses.replace(settings, data_dir=tmp_path / "data")


async def _tenant_tables(engine: AsyncEngine) -> list[str]:
    """Every table with a `tenant_id` column, from the live schema (not a list)."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name"
            )
        )
        return [row[0] for row in result]


async def _counts(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of the tenant in every tenant table, the tenant bound (row-level security is
    forced on the owner too; bound to the tenant, it shows all of that tenant's rows)."""
    counts = {}
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        for table in await _tenant_tables(engine):
            query = text(f'SELECT count(*) FROM "{table}" WHERE tenant_id = :t')
            counts[table] = int((await conn.execute(query, {"t": tenant_id})).scalar_one())
    return counts


async def _history(client: Client, tenant: TenantHandle) -> dict[str, Any]:
    """A case with a customer, an attachment and a timeline beyond intake; an API key
    (it references its creator, a user, without a cascade of its own)."""
    key = await client.post(
        "/api/v1/api-keys", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    assert key.status_code == 201, key.text
    body = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": {"nickname": "小王", "name": "王小明", "phone": "13812345678"},
    }
    created = await client.post("/api/v1/cases", headers=tenant.headers, json=body)
    assert created.status_code == 201, created.text
    case: dict[str, Any] = created.json()
    upload = await client.post(
        f"/api/v1/cases/{case['id']}/attachments",
        headers=tenant.headers,
        files={"file": ("照片.png", PNG, "image/png")},
    )
    assert upload.status_code == 201, upload.text
    verify = await client.post(
        f"/api/v1/cases/{case['id']}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    assert verify.status_code == 200, verify.text
    return case


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


async def test_dump_then_delete_leaves_no_row_of_the_tenant(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    settings: Settings,
    owner_engine: AsyncEngine,
    app_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    case = await _history(client, tenant)
    await _history(client, other_tenant)
    others_before = await _counts(owner_engine, other_tenant.id)
    assert (await _counts(owner_engine, tenant.id))["cases"] == 1

    # The export, masked: a tar.gz of the dump folder.
    response = await client.get(f"/platform/v1/tenants/{tenant.slug}/export", headers=OPERATOR)
    assert response.status_code == 200, response.text
    assert response.headers["x-closeloop-audit-ok"] == "true"
    assert "x-closeloop-delete-token" not in response.headers  # active: not deletable
    files = _members(response.content)
    manifest = json.loads(files["acme/manifest.json"])
    assert manifest["audit"]["ok"] is True
    assert manifest["with_pii"] is False
    assert manifest["files"]["cases.jsonl"] == 1
    (dumped,) = _lines(files["acme/cases.jsonl"])
    assert dumped["number"] == case["number"]
    assert len(dumped["timeline"]) >= 2, "intake and verification"
    assert dumped["sla_clocks"], "the SLA history is part of the case"
    (attachment,) = dumped["attachments"]
    assert files[f"acme/{attachment['file']}"] == PNG
    (customer,) = _lines(files["acme/customers.jsonl"])
    assert customer["phone"] != "13812345678"
    assert customer["phone"].startswith("138")
    assert "[[severities]]" in files["acme/tenant.toml"].decode()
    assert "secret_hash" not in files["acme/customers.jsonl"].decode()

    # Deleting an active tenant is refused.
    url = f"/platform/v1/tenants/{tenant.slug}"
    refused = await client.delete(url, headers=OPERATOR)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "tenant_active"
    suspended = await client.post(f"{url}/suspend", headers=OPERATOR)
    assert suspended.status_code == 200

    # The dump with PII, as `closeloop tenants dump --with-pii` writes it.
    folder = tmp_path / "dump"
    async with transaction(sessionmaker(app_engine)) as session:
        result = await dump_tenant(
            session,
            tenant.slug,
            folder,
            storage=storage_from_settings(settings),
            settings=settings,
            with_pii=True,
        )
    assert result.audit_ok
    (customer,) = _lines((folder / "customers.jsonl").read_bytes())
    assert customer["phone"] == "13812345678"
    assert customer["name"] == "王小明"
    audit = _lines((folder / "audit.jsonl").read_bytes())
    assert audit[-1]["action"] == "tenant.export_pii"
    assert [entry["seq"] for entry in audit] == list(range(1, len(audit) + 1))
    token = result.manifest["delete_token"]

    # A delete without the token answers it; a wrong one is refused.
    first = await client.delete(url, headers=OPERATOR)
    assert first.status_code == 409
    assert first.json()["error"]["code"] == "confirmation_required"
    assert first.json()["error"]["details"]["confirm_token"] == token
    wrong = await client.delete(url, headers=OPERATOR, params={"confirm": "0" * 32})
    assert wrong.status_code == 409
    assert wrong.json()["error"]["code"] == "confirmation_mismatch"

    attachments = settings.data_dir / "attachments"
    assert (attachments / str(tenant.id)).is_dir()
    deleted = await client.delete(url, headers=OPERATOR, params={"confirm": token})
    assert deleted.status_code == 204, deleted.text

    counts = await _counts(owner_engine, tenant.id)
    assert set(counts) >= {"cases", "audit_entries", "case_events", "customers", "users"}
    assert {table: n for table, n in counts.items() if n} == {}
    async with owner_engine.connect() as conn:
        left = await conn.execute(
            text("SELECT count(*) FROM tenants WHERE id = :t"), {"t": tenant.id}
        )
        assert left.scalar_one() == 0
    assert not (attachments / str(tenant.id)).exists()

    # The other tenant is untouched: same rows, same files, a chain that verifies.
    assert await _counts(owner_engine, other_tenant.id) == others_before
    assert (attachments / str(other_tenant.id)).is_dir()
    verified = await client.get("/api/v1/audit/verify", headers=other_tenant.headers)
    assert verified.json()["ok"] is True
    gone = await client.get(url, headers=OPERATOR)
    assert gone.status_code == 404


async def test_a_resumed_tenant_needs_a_new_token(client: Client, tenant: TenantHandle) -> None:
    url = f"/platform/v1/tenants/{tenant.slug}"
    await client.post(f"{url}/suspend", headers=OPERATOR)
    token = (await client.delete(url, headers=OPERATOR)).json()["error"]["details"]["confirm_token"]
    await client.post(f"{url}/resume", headers=OPERATOR)
    await client.post(f"{url}/suspend", headers=OPERATOR)
    stale = await client.delete(url, headers=OPERATOR, params={"confirm": token})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "confirmation_mismatch"
    assert (await client.get(url, headers=OPERATOR)).status_code == 200


def _cli(settings: Settings, database: Provisioned, *args: str) -> subprocess.CompletedProcess[str]:
    data_dir = str(settings.data_dir)
    return run_closeloop(settings, database, "tenants", *args, CLOSELOOP_DATA_DIR=data_dir)


async def test_the_dump_and_delete_commands(
    client: Client,
    tenant: TenantHandle,
    settings: Settings,
    database: Provisioned,
    owner_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    await _history(client, tenant)
    folder = tmp_path / "acme"
    dumped = await asyncio.to_thread(_cli, settings, database, "dump", "acme", str(folder))
    assert dumped.returncode == 0, dumped.stderr
    assert "audit chain: ok" in dumped.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["with_pii"] is False
    assert manifest["files"]["cases.jsonl"] == 1
    assert len(list((folder / "attachments").iterdir())) == 1

    refused = await asyncio.to_thread(_cli, settings, database, "delete", "acme")
    assert refused.returncode == 1
    assert "suspend it" in refused.stderr
    await client.post("/platform/v1/tenants/acme/suspend", headers=OPERATOR)
    asked = await asyncio.to_thread(_cli, settings, database, "delete", "acme")
    assert asked.returncode == 1
    token = asked.stderr.split("--confirm ")[1].split()[0]
    deleted = await asyncio.to_thread(
        _cli, settings, database, "delete", "acme", "--confirm", token
    )
    assert deleted.returncode == 0, deleted.stderr
    assert not any((await _counts(owner_engine, tenant.id)).values())
    assert not (settings.data_dir / "attachments" / str(tenant.id)).exists()
