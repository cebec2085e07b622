"""`[plugins.<name>]` in a tenant file: applying it enables and configures installed
plugins through the plugins' admin service (validated, audited), a second apply changes
nothing, settings left out are kept, secrets never come from a file but stored ones
survive, errors name the line and field, and export -> apply changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import hookimpl
from closeloop.audit.models import AuditEntry
from closeloop.config.files import (
    ChangeSet,
    TenantFileError,
    apply_tenant_file,
    export_tenant,
    load_tenant_file,
)
from closeloop.db import sessionmaker, tenant_scope, transaction
from closeloop.plugins.manager import registered_plugins
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from support import Client, login

ROOT = Path(__file__).resolve().parents[3]

HEAD = """\
[tenant]
slug = "shop"
name = "Shop Ltd"

[[users]]
email = "admin@shop.example.com"
display_name = "Admin"
roles = ["admin"]
password = "a long enough password"
"""

RETAIL = """
[plugins.retail]
enabled = true

[plugins.retail.settings]
no_reason_return_days = 10
exclusions = ["perishable"]
"""


class Vault:
    """A plugin with a secret setting (tests)."""

    NAME = "vault"
    VERSION = "1.0.0"
    SECRET_FIELDS = ("token",)

    class Settings(msgspec.Struct):
        token: str = ""
        region: str = "cn"

    @hookimpl
    def classify_case(self, case: Any) -> None:
        return None


@pytest.fixture
def vault() -> Iterator[Vault]:
    plugin = Vault()
    with registered_plugins(plugin):
        yield plugin


async def _apply(
    app_engine: AsyncEngine, settings: Settings, source: str, *, dry_run: bool = False
) -> ChangeSet:
    file = load_tenant_file("shop.toml", text=source)
    async with transaction(sessionmaker(app_engine)) as session:
        return await apply_tenant_file(session, file, settings=settings, dry_run=dry_run)


async def _plugin(client: Client, name: str) -> dict[str, Any]:
    token = await login(client, "shop", "admin@shop.example.com", "a long enough password")
    response = await client.get(
        f"/api/v1/plugins/{name}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _put(client: Client, name: str, body: dict[str, Any]) -> None:
    token = await login(client, "shop", "admin@shop.example.com", "a long enough password")
    response = await client.put(
        f"/api/v1/plugins/{name}", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    assert response.status_code == 200, response.text


async def test_apply_enables_and_configures_then_changes_nothing(
    app_engine: AsyncEngine, settings: Settings, client: Client
) -> None:
    first = await _apply(app_engine, settings, HEAD + RETAIL)
    assert "+ plugin retail" in first.report()

    retail = await _plugin(client, "retail")
    assert retail["enabled"] is True
    assert retail["settings"]["no_reason_return_days"] == 10
    assert retail["settings"]["exclusions"] == ["perishable"]
    assert retail["settings"]["quality_exchange_days"] == 15  # the default
    second = await _apply(app_engine, settings, HEAD + RETAIL)
    assert not second.changes, second.report()

    async with transaction(sessionmaker(app_engine)) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == "shop"))
        assert tenant is not None
        await tenant_scope(session, tenant.id)
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "plugin.update"))
        ).all()
    assert len(entries) == 1
    assert entries[0].actor == "tenants-apply:shop.toml"

    edited = await _apply(
        app_engine, settings, HEAD + RETAIL.replace("no_reason_return_days = 10", "")
    )
    assert "~ plugin retail: settings" in edited.report()
    assert (await _plugin(client, "retail"))["settings"]["no_reason_return_days"] == 7

    off = await _apply(app_engine, settings, HEAD + "\n[plugins.retail]\nenabled = false\n")
    assert "~ plugin retail: enabled True -> False" in off.report()
    retail = await _plugin(client, "retail")
    assert retail["enabled"] is False
    assert retail["settings"]["exclusions"] == ["perishable"]  # settings left out: kept


async def test_settings_left_out_keep_what_the_api_set(
    app_engine: AsyncEngine, settings: Settings, client: Client
) -> None:
    await _apply(app_engine, settings, HEAD)
    await _put(client, "retail", {"enabled": False, "settings": {"quality_return_days": 3}})
    result = await _apply(app_engine, settings, HEAD + "\n[plugins.retail]\n")
    assert [c.describe() for c in result.changes] == ["~ plugin retail: enabled False -> True"]
    assert (await _plugin(client, "retail"))["settings"]["quality_return_days"] == 3


@pytest.mark.parametrize(
    ("addition", "field", "needle"),
    [
        ("\n[plugins.nope]\nenabled = true\n", "plugins.nope", "[plugins.nope]"),
        (
            "\n[plugins.retail.settings]\nno_reason_return_days = -1\n",
            "plugins.retail.settings.no_reason_return_days",
            "no_reason_return_days = -1",
        ),
        (
            "\n[plugins.retail.settings]\nreturn_days = 7\n",
            "plugins.retail.settings.return_days",
            "return_days = 7",
        ),
        (
            '\n[plugins.vault.settings]\ntoken = "s3cret"\n',
            "plugins.vault.settings.token",
            'token = "s3cret"',
        ),
        ("\n[plugins.retail]\nenable = true\n", "plugins.retail.enable", "enable = true"),
    ],
)
async def test_a_broken_plugins_table_names_line_and_field_and_changes_nothing(
    app_engine: AsyncEngine,
    settings: Settings,
    client: Client,
    vault: Vault,
    addition: str,
    field: str,
    needle: str,
) -> None:
    await _apply(app_engine, settings, HEAD)
    source = HEAD + addition
    line = source.splitlines().index(needle) + 1
    with pytest.raises(TenantFileError) as caught:
        await _apply(app_engine, settings, source)
    assert str(caught.value).startswith(f"shop.toml line {line}: {field}: "), str(caught.value)
    assert (await _plugin(client, "retail"))["configured"] is False


async def test_a_secret_set_through_the_api_survives_a_file(
    app_engine: AsyncEngine, settings: Settings, client: Client, vault: Vault
) -> None:
    await _apply(app_engine, settings, HEAD)
    await _put(client, "vault", {"enabled": True, "settings": {"token": "s3cret"}})
    result = await _apply(
        app_engine, settings, HEAD + '\n[plugins.vault.settings]\nregion = "eu"\n'
    )
    assert "~ plugin vault: settings" in result.report()
    assert "s3cret" not in result.report()
    shown = await _plugin(client, "vault")
    assert shown["settings"] == {"region": "eu", "token": "***"}

    exported = await _export(app_engine)
    assert "s3cret" not in exported
    assert "token" not in exported
    again = await _apply(app_engine, settings, exported)
    assert not again.changes, again.report()
    assert (await _plugin(client, "vault"))["settings"]["token"] == "***"


async def _export(app_engine: AsyncEngine) -> str:
    async with transaction(sessionmaker(app_engine)) as session:
        return await export_tenant(session, "shop")


async def test_export_writes_the_plugins_and_applies_without_changes(
    app_engine: AsyncEngine, settings: Settings
) -> None:
    await _apply(app_engine, settings, HEAD + RETAIL)
    exported = await _export(app_engine)
    assert "[plugins.retail]\nenabled = true" in exported
    assert "no_reason_return_days = 10" in exported
    result = await _apply(app_engine, settings, exported)
    assert not result.changes, result.report()


async def test_dry_run_reports_plugin_changes_without_writing(
    app_engine: AsyncEngine, settings: Settings, client: Client
) -> None:
    await _apply(app_engine, settings, HEAD)
    result = await _apply(app_engine, settings, HEAD + RETAIL, dry_run=True)
    assert "+ plugin retail" in result.report()
    assert (await _plugin(client, "retail"))["configured"] is False


async def test_the_shipped_industry_tenants_run_their_plugins(
    app_engine: AsyncEngine, settings: Settings, client: Client
) -> None:
    for name, slug, plugin in [
        ("manufacturer.toml", "acme-appliances", "manufacturing"),
        ("retailer.toml", "shopwell", "retail"),
    ]:
        file = load_tenant_file(ROOT / "tenants" / name)
        async with transaction(sessionmaker(app_engine)) as session:
            await apply_tenant_file(session, file, settings=settings)
        admin = next(u for u in file.spec.users or [] if "admin" in u.roles)
        token = await login(client, slug, admin.email, "closeloop-demo")
        response = await client.get(
            f"/api/v1/plugins/{plugin}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is True
