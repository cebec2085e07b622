"""A tenant whose data key does not unwrap with the deployment's master key: the dump
command and the operator export refuse it with the reason (409), and write nothing."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.pii.cipher import clear_cache
from closeloop.provision import Provisioned
from closeloop.settings import Settings
from support import OPERATOR, Client, TenantHandle, run_closeloop

OTHER_MASTER_KEY = (
    base64.urlsafe_b64encode(b"another-master-key-32-bytes-long").decode().rstrip("=")
)


async def _with_a_customer(client: Client, tenant: TenantHandle) -> None:
    """A case with a customer's phone: the tenant's data key exists."""
    body = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误",
        "description": "快递延误一周",
        "customer": {"phone": "13812345678"},
    }
    response = await client.post("/api/v1/cases", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text


async def test_the_dump_command_names_a_key_that_does_not_unwrap(
    client: Client,
    tenant: TenantHandle,
    settings: Settings,
    database: Provisioned,
    tmp_path: Path,
) -> None:
    await _with_a_customer(client, tenant)
    folder = tmp_path / "dump"
    done = run_closeloop(
        dataclasses.replace(settings, master_key=OTHER_MASTER_KEY),
        database,
        "tenants",
        "dump",
        tenant.slug,
        str(folder),
        CLOSELOOP_DATA_DIR=str(tmp_path / "data"),
    )
    assert done.returncode == 1, done.stderr
    assert "data key does not unwrap" in done.stderr
    assert "CLOSELOOP_MASTER_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert not folder.exists() or not any(folder.iterdir())


async def test_the_export_answers_409_for_a_damaged_key(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await _with_a_customer(client, tenant)
    flip = text(  # one bit pattern of the wrapped key inverted, and back the second time
        "UPDATE tenant_keys SET wrapped_key = set_byte(wrapped_key, 20, "
        "get_byte(wrapped_key, 20) # 255) WHERE tenant_id = :t"
    )
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(flip, {"t": tenant.id})
    clear_cache()
    try:
        response = await client.get(f"/platform/v1/tenants/{tenant.slug}/export", headers=OPERATOR)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "tenant_key_unusable"
        assert tenant.slug in error["message"]
        assert "does not unwrap" in error["message"]
    finally:
        # Flipped back: the operator tests export every tenant they find.
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
            )
            await conn.execute(flip, {"t": tenant.id})
        clear_cache()
    exported = await client.get(f"/platform/v1/tenants/{tenant.slug}/export", headers=OPERATOR)
    assert exported.status_code == 200
