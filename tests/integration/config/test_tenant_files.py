"""Tenants as files: apply creates then updates idempotently, a broken file names its line
and field and changes nothing, export -> apply changes nothing, the shipped demo tenants
apply cleanly, and the real `closeloop tenants` command does the same."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.config.files import (
    ChangeSet,
    TenantFileError,
    apply_tenant_file,
    export_tenant,
    load_tenant_file,
)
from closeloop.config.models import Category, Department, Severity, TenantProfile
from closeloop.db import sessionmaker, tenant_scope, transaction
from closeloop.identity.models import User
from closeloop.provision import Provisioned
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from support import Client, login, run_closeloop

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "tenants").glob("*.toml"))

SMALL = """\
[tenant]
slug = "tiny"
name = "Tiny Ltd"
locale = "en"
timezone = "Europe/Berlin"

[profile]
repeat_window_days = 14

[profile.number_patterns]
default = "T-{yyyy}-{seq:04}"

[[severities]]
code = "low"
name_en = "Low"
rank = 1

[[severities]]
code = "high"
name_en = "High"
name_zh = "高"
rank = 2

[[departments]]
code = "support"
name_en = "Support"
manager = "boss@tiny.example.com"

[[departments]]
code = "support.l2"
name_en = "Second line"
parent = "support"

[[categories]]
code = "billing"
name_en = "Billing"
kind = "complaint"
department = "support"

[[categories]]
code = "billing.refund"
name_en = "Refunds"
parent = "billing"
department = "support.l2"

[[users]]
email = "boss@tiny.example.com"
display_name = "The boss"
roles = ["admin", "supervisor"]
permissions = ["pii"]
department = "support"
password = "a long enough password"

[[users]]
email = "agent@tiny.example.com"
display_name = "An agent"
roles = ["agent"]
password_env = "TINY_AGENT_PASSWORD"
"""
ENV = {"TINY_AGENT_PASSWORD": "another long password"}


async def _apply(app_engine: AsyncEngine, source: str, *, name: str = "tiny.toml") -> ChangeSet:
    file = load_tenant_file(name, text=source)
    async with transaction(sessionmaker(app_engine)) as session:
        return await apply_tenant_file(session, file, env=ENV)


async def _export(app_engine: AsyncEngine, slug: str) -> str:
    async with transaction(sessionmaker(app_engine)) as session:
        return await export_tenant(session, slug)


async def _bind_owner(conn: AsyncConnection, slug: str) -> None:
    """Row-level security is forced on the owner too: bind the tenant first."""
    tenant_id = (
        await conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})
    ).scalar()
    await conn.execute(
        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id or "")}
    )


async def _audit_count(owner_engine: AsyncEngine, slug: str = "tiny") -> int:
    async with owner_engine.begin() as conn:
        await _bind_owner(conn, slug)
        return int((await conn.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one())


async def _fingerprint(owner_engine: AsyncEngine, slug: str = "tiny") -> dict[str, str]:
    """A digest of every row of the tenant's configuration, users and audit trail."""
    tables = (
        "tenants",
        "tenant_profiles",
        "severities",
        "departments",
        "categories",
        "channels",
        "demand_types",
        "users",
        "audit_entries",
    )
    out = {}
    async with owner_engine.begin() as conn:
        await _bind_owner(conn, slug)
        for table in tables:
            digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            query = f"SELECT count(*) || {digest} FROM {table} t"
            out[table] = (await conn.execute(text(query))).scalar_one()
    return out


async def _tenant_rows(app_engine: AsyncEngine, slug: str, model: type) -> list:
    async with transaction(sessionmaker(app_engine)) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert tenant is not None
        await tenant_scope(session, tenant.id)
        return list((await session.scalars(select(model).order_by(model.created_at))).all())


async def test_apply_creates_the_tenant_then_a_second_apply_changes_nothing(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, client: Client
) -> None:
    first = await _apply(app_engine, SMALL)

    assert first.created
    assert first.applied
    added = {(c.entity, c.key) for c in first.changes if c.op == "add"}
    assert {
        ("severity", "low"),
        ("severity", "high"),
        ("department", "support.l2"),
        ("category", "billing.refund"),
        ("user", "agent@tiny.example.com"),
    } <= added
    assert first.count("deactivate") == 0
    severities = await _tenant_rows(app_engine, "tiny", Severity)
    assert sorted((s.code, s.rank, s.name_zh) for s in severities) == [
        ("high", 2, "高"),
        ("low", 1, "Low"),  # a missing name is copied from the other
    ]
    departments = {d.code: d for d in await _tenant_rows(app_engine, "tiny", Department)}
    users = {u.email: u for u in await _tenant_rows(app_engine, "tiny", User)}
    assert departments["support"].manager_id == users["boss@tiny.example.com"].id
    assert departments["support.l2"].parent_id == departments["support"].id
    categories = {c.code: c for c in await _tenant_rows(app_engine, "tiny", Category)}
    assert categories["billing.refund"].default_department_id == departments["support.l2"].id
    (profile,) = await _tenant_rows(app_engine, "tiny", TenantProfile)
    assert profile.repeat_window_days == 14
    assert profile.number_patterns == {"default": "T-{yyyy}-{seq:04}"}
    assert profile.pii_mode == "normal"  # left out of the file: the default
    # Sections the file leaves out keep the defaults; the users can log in.
    assert await login(client, "tiny", "agent@tiny.example.com", ENV["TINY_AGENT_PASSWORD"])

    before = await _fingerprint(owner_engine)
    assert before["severities"].startswith("2")
    assert before["users"].startswith("2")
    second = await _apply(app_engine, SMALL)

    assert not second.changes
    assert second.summary() == "tenant tiny: no changes"
    assert await _fingerprint(owner_engine) == before


async def test_an_edited_file_changes_adds_and_deactivates_and_audits_each_change(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    await _apply(app_engine, SMALL)
    edited = (
        SMALL.replace('name_en = "Refunds"', 'name_en = "Refunds and credits"')
        .replace("rank = 1", "rank = 3")  # low and high swap places...
        .replace("rank = 2", "rank = 1")
        .replace(
            '[[categories]]\ncode = "billing"\n', '[[categories]]\ncode = "billing"\nposition = 7\n'
        )
        .replace(
            '[[users]]\nemail = "agent@tiny.example.com"',
            '[[channels]]\ncode = "fax"\nname_en = "Fax"\n\n'
            '[[users]]\nemail = "agent@tiny.example.com"',
        )
    )
    audit_before = await _audit_count(owner_engine)

    result = await _apply(app_engine, edited)

    described = {(c.op, c.entity, c.key) for c in result.changes}
    assert ("change", "category", "billing.refund") in described
    assert ("change", "severity", "low") in described
    assert (
        "change",
        "severity",
        "high",
    ) in described
    assert ("add", "channel", "fax") in described
    # The file now names one channel: the ten default channels are retired, not deleted.
    assert result.count("deactivate") == 10
    assert result.summary() == "tenant tiny: updated; 1 added, 4 changed, 10 deactivated"
    ranks = {s.code: s.rank for s in await _tenant_rows(app_engine, "tiny", Severity)}
    assert ranks == {"low": 3, "high": 1}
    assert await _audit_count(owner_engine) - audit_before == len(result.changes)
    async with transaction(sessionmaker(app_engine)) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == "tiny"))
        assert tenant is not None
        await tenant_scope(session, tenant.id)
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "channel.deactivate").limit(1)
        )
        assert entry is not None
        assert entry.actor == "tenants-apply:tiny.toml"
        assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    assert not (await _apply(app_engine, edited)).changes


async def test_two_applies_at_once_create_the_tenant_once(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    results = await asyncio.gather(_apply(app_engine, SMALL), _apply(app_engine, SMALL))

    assert sorted(bool(r.changes) for r in results) == [False, True]
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tenants"))).scalar_one() == 1


async def test_users_left_out_of_the_file_are_deactivated_but_never_deleted(
    app_engine: AsyncEngine,
) -> None:
    await _apply(app_engine, SMALL)
    without_agent = SMALL.split('[[users]]\nemail = "agent@')[0]

    result = await _apply(app_engine, without_agent)

    assert [(c.op, c.entity, c.key) for c in result.changes] == [
        ("deactivate", "user", "agent@tiny.example.com")
    ]
    users = {u.email: u.active for u in await _tenant_rows(app_engine, "tiny", User)}
    assert users == {"boss@tiny.example.com": True, "agent@tiny.example.com": False}


def _line_of(source: str, marker: str, offset: int = 0) -> int:
    """The line of the last occurrence of `marker` (plus `offset` lines)."""
    lines = source.splitlines()
    return max(i for i, line in enumerate(lines, start=1) if marker in line) + offset


# (id, broken file, marker of the offending line, line offset from it, field, message)
BROKEN = [
    (
        "syntax",
        SMALL.replace("rank = 2", "rank = = 2"),
        "rank = = 2",
        0,
        "rank",
        "TOML syntax error",
    ),
    (
        "unknown key",
        SMALL.replace("rank = 2", "rank = 2\ncolour = 'red'"),
        "colour",
        0,
        "severities[1].colour",
        "unknown field",
    ),
    (
        "wrong type",
        SMALL.replace("rank = 2", 'rank = "two"'),
        '"two"',
        0,
        "severities[1].rank",
        "Expected `int`",
    ),
    (
        "unknown parent",
        SMALL.replace('parent = "support"', 'parent = "suport"'),
        "suport",
        0,
        "departments[1].parent",
        "unknown parent code 'suport'",
    ),
    (
        "unknown department",
        SMALL.replace('department = "support.l2"', 'department = "l3"'),
        '"l3"',
        0,
        "categories[1].department",
        "unknown department code 'l3'",
    ),
    (
        "bad pattern",
        SMALL.replace("T-{yyyy}-{seq:04}", "T-{yyyy}-{n}"),
        "{n}",
        0,
        "profile.number_patterns.default",
        "unknown placeholder {n}",
    ),
    (
        "pattern without seq",
        SMALL.replace("T-{yyyy}-{seq:04}", "T-{yyyy}"),
        "T-{yyyy}",
        0,
        "profile.number_patterns.default",
        "{seq}",
    ),
    (
        "duplicate rank",
        SMALL.replace("rank = 2", "rank = 1"),
        "rank = 1",
        0,
        "severities[1].rank",
        "appears twice",
    ),
    (
        "unknown manager",
        SMALL.replace('manager = "boss@', 'manager = "nobody@'),
        "nobody@",
        0,
        "departments[0].manager",
        "not a user",
    ),
    (
        "new user without password",
        SMALL.replace('password_env = "TINY_AGENT_PASSWORD"', "").replace("agent@tiny", "new@tiny"),
        "new@tiny",
        -1,
        "users[1].password",
        "needs password",
    ),
]


@pytest.mark.parametrize(
    ("source", "marker", "offset", "field", "message"),
    [b[1:] for b in BROKEN],
    ids=[b[0] for b in BROKEN],
)
async def test_a_broken_file_names_line_and_field_and_changes_nothing(
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    source: str,
    marker: str,
    offset: int,
    field: str,
    message: str,
) -> None:
    line = _line_of(source, marker, offset)
    await _apply(app_engine, SMALL)
    before = await _fingerprint(owner_engine)
    broken = source.replace(
        'name = "Tiny Ltd"', 'name = "Tiny GmbH"'
    )  # a change that must not land

    with pytest.raises(TenantFileError) as caught:
        await _apply(app_engine, broken)

    error = caught.value
    assert (error.line, error.field) == (line, field), str(error)
    assert message in error.message
    assert str(error).startswith(f"tiny.toml line {line}: {field}: ")
    assert await _fingerprint(owner_engine) == before


async def test_a_broken_file_for_a_new_tenant_creates_nothing(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    with pytest.raises(TenantFileError):
        await _apply(app_engine, SMALL.replace('manager = "boss@', 'manager = "nobody@'))
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tenants"))).scalar_one() == 0


async def test_export_then_apply_changes_nothing(app_engine: AsyncEngine) -> None:
    await _apply(app_engine, SMALL)
    edited = SMALL.replace(
        '[[categories]]\ncode = "billing"\n', '[[categories]]\ncode = "billing"\nposition = 9\n'
    )
    await _apply(app_engine, edited)
    exported = await _export(app_engine, "tiny")

    assert "password =" not in exported
    assert "password_env" not in exported.split("\n\n", 1)[1]
    assert '[[severities]]\ncode = "low"' in exported
    result = await _apply(app_engine, exported, name="exported.toml")

    assert not result.changes, result.report()


async def test_export_of_an_api_made_tenant_applies_without_changes(
    app_engine: AsyncEngine, client: Client
) -> None:
    from support import make_tenant

    handle = await make_tenant(client, "apimade")
    response = await client.post(
        "/api/v1/categories/",
        headers=handle.headers,
        json={"code": "late", "name_en": "Late", "position": 3, "active": False},
    )
    assert response.status_code == 201, response.text

    result = await _apply(app_engine, await _export(app_engine, "apimade"), name="apimade.toml")

    assert not result.changes, result.report()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
async def test_each_shipped_tenant_applies_cleanly_and_idempotently(
    app_engine: AsyncEngine, client: Client, settings: Settings, path: Path
) -> None:
    file = load_tenant_file(path)
    async with transaction(sessionmaker(app_engine)) as session:
        first = await apply_tenant_file(session, file, settings=settings)
    async with transaction(sessionmaker(app_engine)) as session:
        second = await apply_tenant_file(session, file, settings=settings)

    assert first.created
    assert first.count("add") > 20
    assert first.count("deactivate") == 0
    assert not second.changes, second.report()
    roles = {r for u in file.spec.users or [] for r in u.roles}
    assert roles == {"admin", "supervisor", "agent", "handler", "followup", "viewer"}
    assert sum("handler" in u.roles for u in file.spec.users or []) >= 2
    admin = next(u for u in file.spec.users or [] if "admin" in u.roles)
    assert await login(client, file.spec.tenant.slug, admin.email, "closeloop-demo")
    assert not (await _apply(app_engine, await _export(app_engine, file.spec.tenant.slug))).changes


def test_at_least_three_demo_tenants_ship() -> None:
    assert {p.name for p in SHIPPED} >= {"manufacturer.toml", "retailer.toml", "internet.toml"}


def _cli(settings: Settings, database: Provisioned, *args: str) -> subprocess.CompletedProcess[str]:
    password = ENV["TINY_AGENT_PASSWORD"]
    return run_closeloop(settings, database, "tenants", *args, TINY_AGENT_PASSWORD=password)


def test_the_closeloop_tenants_commands(
    settings: Settings, database: Provisioned, tmp_path: Path
) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SMALL, encoding="utf-8")

    first = _cli(settings, database, "apply", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("tenant tiny: created; ")
    second = _cli(settings, database, "apply", str(path))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "tenant tiny: no changes"

    exported = _cli(settings, database, "export", "tiny")
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "exported.toml").write_text(exported.stdout, encoding="utf-8")
    again = _cli(settings, database, "apply", str(tmp_path / "exported.toml"))
    assert again.stdout.strip() == "tenant tiny: no changes", again.stdout + again.stderr

    source = SMALL.replace('parent = "support"', 'parent = "suport"')
    path.write_text(source, encoding="utf-8")
    broken = _cli(settings, database, "apply", str(path))
    assert broken.returncode == 1
    line = _line_of(source, "suport")
    assert (
        f"tiny.toml line {line}: departments[1].parent: unknown parent code 'suport'"
        in broken.stderr
    )

    missing = _cli(settings, database, "export", "nope")
    assert missing.returncode == 2
    assert "no tenant 'nope'" in missing.stderr


async def test_dry_run_reports_without_writing(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    before = await _fingerprint(owner_engine)
    file = load_tenant_file("tiny.toml", text=SMALL)
    async with transaction(sessionmaker(app_engine)) as session:
        result = await apply_tenant_file(session, file, env=ENV, dry_run=True)
    assert result.created
    assert not result.applied
    assert result.summary().startswith("tenant tiny: would be created; ")
    assert await _fingerprint(owner_engine) == before
    async with owner_engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Tenant))).scalar_one() == 0
