"""A whole tenant written to a folder: `closeloop tenants dump` and the operator export.

The folder (format `closeloop-tenant-dump`, version 1):

* `manifest.json`: the tenant, when and by whom it was dumped, whether PII is in clear,
  the number of lines of each file, the audit chain's verify result and, for a
  suspended tenant, the token that confirms its deletion.
* `tenant.toml`: the configuration as a tenant file (`closeloop tenants apply` reads it).
* `cases.jsonl`: one case a line with its `timeline` (every event, internal ones too),
  `sla_clocks` and `sla_events` (the SLA history), `attachments` (each naming its file),
  `followups`, `surveys` and `findings`.
* `customers.jsonl`: customers, PII masked unless the dump was asked `with_pii`.
* `notifications.jsonl`: what was sent to whom.
* `audit.jsonl`: the audit chain in `seq` order, hashes in hex, so that it can be
  re-verified outside.
* `attachments/<sha256>`: the evidence files, content addressed as in storage.

Secrets are never written: password and API-key hashes, session and survey token
hashes, webhook secrets and the tenant's wrapped data key stay behind. A dump with PII
writes a `tenant.export_pii` audit entry first (it is in the dump's own audit file).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable, record, verify
from closeloop.cases.models import Customer
from closeloop.config.files import export_tenant
from closeloop.db import Base, tenant_scope, utcnow
from closeloop.errors import ApiError
from closeloop.models import load_all_models
from closeloop.pii.cipher import cipher_for
from closeloop.settings import Settings
from closeloop.storage import AttachmentStorage
from closeloop.tenancy._delete import delete_token
from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.tenancy.service import TenantService

__all__ = ["DUMP_FORMAT", "DumpResult", "TenantKeyUnusable", "dump_tenant"]

DUMP_FORMAT = "closeloop-tenant-dump"
DUMP_VERSION = 1
_BATCH = 500

# Columns that hold secrets or derived search data: never dumped.
SECRET_COLUMNS = frozenset(
    {
        "password_hash",
        "secret_hash",
        "token_hash",
        "public_token_hash",
        "idempotency_fingerprint",
        "wrapped_key",
        "secret_enc",
        "search",
        "phone_hash",
        "email_hash",
    }
)

# What each case line nests, by key: the table holding it (rows with the case's id).
CASE_PARTS = {
    "timeline": "case_events",
    "sla_clocks": "sla_clocks",
    "sla_events": "sla_clock_events",
    "attachments": "attachments",
    "followups": "followup_tasks",
    "surveys": "surveys",
    "findings": "case_findings",
}
_PII = ("name", "phone", "email", "id_number")


@dataclasses.dataclass
class DumpResult:
    manifest: dict[str, Any]

    @property
    def audit_ok(self) -> bool:
        return bool(self.manifest["audit"]["ok"])


def _table(name: str) -> Table:
    load_all_models()
    table = Base.metadata.tables[name]
    assert isinstance(table, Table)
    return table


def row_json(row: Any, table: Table) -> dict[str, Any]:
    """One row as JSON types, secrets left out, `tenant_id` too (the manifest has it)."""
    mapping = row._mapping
    values: dict[str, Any] = jsonable(
        {
            column.name: mapping[column.name]
            for column in table.columns
            if column.name not in SECRET_COLUMNS and column.name != "tenant_id"
        }
    )
    return values


class _Lines:
    """A JSON Lines file being written, counting its lines."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, value: dict[str, Any]) -> None:
        self.handle.write(json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n")
        self.count += 1

    def close(self) -> None:
        self.handle.close()


async def _rows(session: AsyncSession, table: Table, tenant_id: uuid.UUID, *order: str) -> Any:
    query = select(table).where(table.c.tenant_id == tenant_id)
    query = query.order_by(*(table.c[name] for name in order))
    return await session.stream(query)


@dataclasses.dataclass
class _Dumper:
    session: AsyncSession
    tenant: Tenant
    folder: Path
    storage: AttachmentStorage
    settings: Settings
    counts: dict[str, int] = dataclasses.field(default_factory=dict, init=False)

    def lines(self, name: str) -> _Lines:
        return _Lines(self.folder / name)

    async def cases(self) -> None:
        cases = _table("cases")
        out = self.lines("cases.jsonl")
        try:
            result = await _rows(self.session, cases, self.tenant.id, "received_at", "id")
            batch: list[dict[str, Any]] = []
            async for row in result:
                batch.append(row_json(row, cases))
                if len(batch) == _BATCH:
                    await self._write_cases(out, batch)
                    batch = []
            if batch:
                await self._write_cases(out, batch)
        finally:
            out.close()
        self.counts["cases.jsonl"] = out.count

    async def _write_cases(self, out: _Lines, batch: list[dict[str, Any]]) -> None:
        ids = [uuid.UUID(case["id"]) for case in batch]
        parts: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for key, name in CASE_PARTS.items():
            table = _table(name)
            query = (
                select(table)
                .where(table.c.tenant_id == self.tenant.id, table.c.case_id.in_(ids))
                .order_by(table.c.created_at, table.c.id)
            )
            grouped: dict[str, list[dict[str, Any]]] = {}
            for row in await self.session.execute(query):
                grouped.setdefault(str(row.case_id), []).append(row_json(row, table))
            parts[key] = grouped
        for case in batch:
            for key in CASE_PARTS:
                case[key] = parts[key].get(case["id"], [])
            for attachment in case["attachments"]:
                attachment["file"] = await self._attachment(attachment)
            out.write(case)

    async def _attachment(self, attachment: dict[str, Any]) -> str | None:
        """Copy the file into `attachments/`; its path in the dump (None when missing)."""
        name = f"attachments/{attachment['sha256']}"
        path = self.folder / name
        if path.exists():
            return name
        try:
            data = await self.storage.get(attachment.pop("storage_key"))
        except FileNotFoundError:
            return None
        path.write_bytes(data)
        return name

    async def customers(self, *, with_pii: bool) -> None:
        from closeloop.customers.service import CustomerService

        out = self.lines("customers.jsonl")
        service = CustomerService(self.session, principal=None, settings=self.settings)
        cipher = await cipher_for(self.session, self.settings)
        try:
            query = select(Customer).order_by(Customer.created_at, Customer.id)
            for customer in (await self.session.scalars(query)).all():
                line: dict[str, Any] = jsonable(
                    {
                        "id": customer.id,
                        "created_at": customer.created_at,
                        "external_ref": customer.external_ref,
                        "nickname": customer.nickname,
                        "locale": customer.locale,
                        "erased_at": customer.erased_at,
                    }
                )
                if with_pii:
                    for field in _PII:
                        blob = getattr(customer, f"{field}_enc")
                        line[field] = cipher.decrypt(blob) if blob is not None else None
                else:
                    view = await service.view(customer)  # no principal: masked, not audited
                    line.update({field: getattr(view, field) for field in _PII})
                out.write(line)
        finally:
            out.close()
        self.counts["customers.jsonl"] = out.count

    async def plain(self, name: str, *order: str) -> None:
        table = _table(name)
        out = self.lines(f"{name}.jsonl")
        try:
            async for row in await _rows(self.session, table, self.tenant.id, *order):
                out.write(row_json(row, table))
        finally:
            out.close()
        self.counts[f"{name}.jsonl"] = out.count


class TenantKeyUnusable(ApiError, status=409, code="tenant_key_unusable"):
    """The tenant's data key does not unwrap with this deployment's master key."""


async def _check_key(session: AsyncSession, settings: Settings, slug: str) -> None:
    """Refuse before anything is written when the tenant's personal data cannot be read:
    its data key was wrapped under another master key (or the stored key is damaged)."""
    try:
        await cipher_for(session, settings)
    except InvalidTag:
        raise TenantKeyUnusable(
            f"tenant {slug!r} cannot be dumped: its data key does not unwrap with this "
            "deployment's master key (CLOSELOOP_MASTER_KEY), so its customers' personal "
            "data cannot be read; run the dump with the master key the tenant's data was "
            "written under",
            details={"tenant": slug},
        ) from None


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty")
    (folder / "attachments").mkdir()


async def dump_tenant(
    session: AsyncSession,
    slug: str,
    folder: Path,
    *,
    storage: AttachmentStorage,
    settings: Settings,
    with_pii: bool = False,
    actor: str = "operator",
) -> DumpResult:
    """Write tenant `slug` into `folder` (created; must be empty) in the session's
    transaction; a dump `with_pii` is audited in the tenant's chain before it is read."""
    tenant = await TenantService(session).by_slug(slug)
    await tenant_scope(session, tenant.id)
    await _check_key(session, settings, slug)
    await asyncio.to_thread(_prepare, folder)
    if with_pii:
        await record(
            session,
            actor=actor,
            action="tenant.export_pii",
            entity_type="tenant",
            entity_id=tenant.id,
            after={"with_pii": True},
        )
    (folder / "tenant.toml").write_text(await export_tenant(session, slug), encoding="utf-8")
    await tenant_scope(session, tenant.id)
    dumper = _Dumper(session, tenant, folder, storage, settings)
    await dumper.cases()
    await dumper.customers(with_pii=with_pii)
    await dumper.plain("notifications", "created_at", "id")
    await dumper.plain("audit_entries", "seq")
    (folder / "audit_entries.jsonl").rename(folder / "audit.jsonl")
    dumper.counts["audit.jsonl"] = dumper.counts.pop("audit_entries.jsonl")
    report = await verify(session)
    manifest: dict[str, Any] = jsonable(
        {
            "format": DUMP_FORMAT,
            "version": DUMP_VERSION,
            "tenant": {
                "id": tenant.id,
                "slug": tenant.slug,
                "name": tenant.name,
                "status": tenant.status,
            },
            "dumped_at": utcnow(),
            "dumped_by": actor,
            "with_pii": with_pii,
            "files": dumper.counts,
            "attachments": sum(1 for _ in (folder / "attachments").iterdir()),
            "audit": dataclasses.asdict(report),
        }
    )
    if tenant.status == TenantStatus.SUSPENDED:
        manifest["delete_token"] = delete_token(settings, tenant)
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return DumpResult(manifest)
