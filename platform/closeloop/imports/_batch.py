"""One batch of an import run written in one transaction (`closeloop.imports.writer`):
new cases with their numbers, SLA history, search document and timeline event, changed
cases updated and audited, row errors stored, the run's counts moved on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import diff, record
from closeloop.cases.lifecycle import Status
from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.numbering import CaseNumbering, numbering_for_kind
from closeloop.cases.search import document_tokens, vector_text
from closeloop.customers.service import CustomerService
from closeloop.db import bound_tenant, new_id, utcnow
from closeloop.imports._history import clock_history, redo_clock_history
from closeloop.imports._numbers import NumberBook
from closeloop.imports._tenant import TenantCodes
from closeloop.imports.models import ImportRowError, ImportRun
from closeloop.imports.records import CellError, Creation, ImportedCase, RowErrors
from closeloop.logs import get_logger
from closeloop.reports import facts, rollup
from closeloop.reports.models import CaseFacts
from closeloop.settings import Settings
from closeloop.sla.clocks import ClockService
from closeloop.sla.models import SlaClock

__all__ = ["Batch", "Counts", "copy_counts", "digest", "load_run"]

log = get_logger(__name__)

_UPDATED_FIELDS = (
    "kind",
    "status",
    "channel",
    "received_at",
    "title",
    "description",
    "category_code",
    "severity_code",
    "product",
    "problem_at",
    "problem_place",
    "demands",
    "extra",
    "deadline",
    "resolution",
    "first_satisfaction",
    "followup_outcome",
    "resolved_at",
    "closed_at",
    "archived_at",
)


def digest(record: ImportedCase) -> bytes:
    """What a re-import compares: the record without its row number."""
    return hashlib.sha256(msgspec.json.encode(msgspec.structs.replace(record, row=0))).digest()


@dataclasses.dataclass
class Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0


async def load_run(session: AsyncSession, run_id: uuid.UUID) -> ImportRun:
    run = await session.scalar(
        select(ImportRun).where(ImportRun.id == run_id).execution_options(populate_existing=True)
    )
    if run is None:
        raise LookupError(f"no import run {run_id}")
    return run


def copy_counts(run: ImportRun, counts: Counts) -> None:
    run.rows, run.created, run.updated = counts.rows, counts.created, counts.updated
    run.unchanged, run.errors = counts.unchanged, counts.errors


_FIELD = {"id": "external_id", "number": "number"}
_SHOWN = (Case.id, Case.import_digest, Case.import_run_id)
_TENANT = Case.tenant_id == bindparam("tenant_id")
# Lookups of a batch's keys: one array parameter (`= ANY`), one plan for every batch.
_BY_EXTERNAL_ID = rows.Query(
    select(Case.external_id.label("key"), *_SHOWN).where(
        _TENANT, Case.external_id == any_(bindparam("keys", type_=ARRAY(String)))
    )
)
_BY_NUMBER = rows.Query(
    select(Case.number.label("key"), *_SHOWN).where(
        _TENANT,
        Case.number == any_(bindparam("keys", type_=ARRAY(String))),
        Case.import_digest.is_not(None),
    )
)
_TAKEN_NUMBERS = rows.Query(
    select(Case.number).where(_TENANT, Case.number == any_(bindparam("keys", type_=ARRAY(String))))
)


def _first_in_batch(
    records: list[ImportedCase], errors: list[CellError], counts: Counts
) -> list[ImportedCase]:
    """Rows whose external id or number an earlier row of the batch had are errors (an
    earlier batch's are found in the database, `_Batch.write`)."""
    seen: dict[str, int] = {}
    kept = []
    for record_ in records:
        key = _key(record_)
        if key and key in seen:
            what, _, value = key.partition(":")
            reason = f"the same {what} as row {seen[key]}"
            errors.append(CellError(record_.row, None, _FIELD[what], value, reason))
            counts.errors += 1
            continue
        if key:
            seen[key] = record_.row
        kept.append(record_)
    return kept


def _key(record: ImportedCase) -> str:
    """What a re-import matches a row on: its external id, else its number (a file of
    the practice's form has only its 投诉编号), else nothing."""
    if record.external_id:
        return f"id:{record.external_id}"
    return f"number:{record.number}" if record.number else ""


@dataclasses.dataclass
class Batch:
    """Writes one batch of mapped rows in one transaction."""

    tx: Callable[[], Any]
    run_id: uuid.UUID
    codes: TenantCodes
    zone: zoneinfo.ZoneInfo
    patterns: dict[str, str] | None
    _: dataclasses.KW_ONLY
    actor: str
    settings: Settings
    dry_run: bool
    digests: dict[int, bytes] = dataclasses.field(default_factory=dict, init=False)
    context: facts.Context | None = dataclasses.field(default=None, init=False)
    numberings: dict[str, CaseNumbering] = dataclasses.field(default_factory=dict, init=False)

    async def write(
        self, chunk: list[ImportedCase | RowErrors], creations: list[Creation], counts: Counts
    ) -> None:
        errors: list[CellError] = []
        records: list[ImportedCase] = []
        for result in chunk:
            counts.rows += 1
            if isinstance(result, RowErrors):
                errors += result.errors
                counts.errors += 1
            else:
                records.append(result)
        async with self.tx() as session:
            if creations and not self.dry_run:
                await self.codes.create(session, creations)
            records = _first_in_batch(records, errors, counts)
            # Taken before the writer fills in what the file left out (number, time).
            self.digests = {r.row: digest(r) for r in records}
            existing = await self._existing(session, records)
            new: list[ImportedCase] = []
            changed: list[tuple[ImportedCase, uuid.UUID]] = []
            for record_ in records:
                found = existing.get(_key(record_))
                if found is None:
                    new.append(record_)
                elif found[2] == self.run_id:
                    # Written by an earlier batch of this run: kept in the database, not in
                    # memory, so that memory stays flat however long the file.
                    what = "id" if record_.external_id else "number"
                    value = record_.external_id or record_.number or ""
                    reason = f"an earlier row of this file has the same {what}"
                    errors.append(CellError(record_.row, None, _FIELD[what], value, reason))
                    counts.errors += 1
                elif found[1] == self.digests[record_.row]:
                    counts.unchanged += 1
                else:
                    changed.append((record_, found[0]))
            new = await self._numbers_free(session, new, errors, counts)
            if self.dry_run:
                counts.created += len(new)
                counts.updated += len(changed)
            else:
                counts.created += await self._insert(session, new, errors, counts)
                for record_, case_id in changed:
                    await self._update(session, record_, case_id)
                if changed:
                    context = await self._context(session)
                    await facts.refresh_many(session, [c for _, c in changed], context=context)
                counts.updated += len(changed)
            if errors:
                await rows.insert_many(
                    session,
                    [
                        rows.new(
                            ImportRowError,
                            id=new_id(),
                            run_id=self.run_id,
                            row=e.row,
                            column=e.column[:200] if e.column else None,
                            field=e.field,
                            value=e.value,
                            reason=e.reason,
                        )
                        for e in errors
                    ],
                )
            run = await load_run(session, self.run_id)
            copy_counts(run, counts)

    async def _existing(
        self, session: AsyncSession, records: list[ImportedCase]
    ) -> dict[str, tuple[uuid.UUID, bytes | None, uuid.UUID | None]]:
        """Cases an import made of these rows (id, digest, run), by `_key`."""
        found: dict[str, tuple[uuid.UUID, bytes | None, uuid.UUID | None]] = {}
        ids = [r.external_id for r in records if r.external_id]
        numbers = [r.number for r in records if r.number and not r.external_id]
        for prefix, keys, query in (("id", ids, _BY_EXTERNAL_ID), ("number", numbers, _BY_NUMBER)):
            if keys:
                for row in await query.fetch(session, keys=keys):
                    found[f"{prefix}:{row['key']}"] = (
                        row["id"],
                        row["import_digest"],
                        row["import_run_id"],
                    )
        return found

    async def _numbers_free(
        self,
        session: AsyncSession,
        records: list[ImportedCase],
        errors: list[CellError],
        counts: Counts,
    ) -> list[ImportedCase]:
        """New rows whose number column names a number a case of the tenant has are errors."""
        given = [r.number for r in records if r.number]
        if not given:
            return records
        taken = {row["number"] for row in await _TAKEN_NUMBERS.fetch(session, keys=given)}
        kept = []
        for record_ in records:
            if record_.number in taken:
                errors.append(
                    CellError(
                        record_.row, None, "number", record_.number or "", "a case has this number"
                    )
                )
                counts.errors += 1
            else:
                kept.append(record_)
        return kept

    # ---- new cases ------------------------------------------------------------------------

    async def _insert(
        self,
        session: AsyncSession,
        records: list[ImportedCase],
        errors: list[CellError],
        counts: Counts,
    ) -> int:
        if not records:
            return 0
        now = utcnow()
        for record_ in records:
            if record_.received_at is None:
                record_.received_at = now
        records.sort(key=lambda r: (r.received_at or now, r.row))
        book = NumberBook(session, self.zone)
        numbers = await book.take(
            [(self._numbering(r.kind), r.received_at or now) for r in records if not r.number]
        )
        clocks = ClockService(session, actor=self.actor, settings=self.settings)
        customers = CustomerService(
            session, principal=None, settings=self.settings, actor=self.actor
        )
        context = await self._context(session)
        built: list[tuple[ImportedCase, list[object], dict[rollup.Bucket, int]]] = []
        for record_ in records:
            if not record_.number:
                record_.number = numbers.pop(0)
            try:
                objects = await self._build(record_, clocks, customers, now)
                built.append((record_, *self._facts(objects, context, now)))
            except Exception as exc:
                errors.append(CellError(record_.row, None, None, "", f"not stored: {exc}"))
                counts.errors += 1
        try:
            async with session.begin_nested():
                await rows.insert_many(session, [obj for _, objs, _ in built for obj in objs])
        except Exception as exc:
            log.info("import batch refused, writing it row by row", reason=str(exc)[:200])
        else:
            await self._roll_up(session, [delta for _, _, delta in built])
            return len(built)
        stored = []
        for record_, objs, delta in built:
            try:
                async with session.begin_nested():
                    await rows.insert_many(session, objs)
                stored.append(delta)
            except Exception as exc:
                errors.append(CellError(record_.row, None, None, "", f"not stored: {exc}"))
                counts.errors += 1
        await self._roll_up(session, stored)
        return len(stored)

    def _numbering(self, kind: str) -> CaseNumbering:
        found = self.numberings.get(kind)
        if found is None:
            found = self.numberings[kind] = numbering_for_kind(self.patterns, kind)
        return found

    async def _context(self, session: AsyncSession) -> facts.Context:
        if self.context is None:
            self.context = await facts.load_context(session)
        return self.context

    def _facts(
        self, objects: list[Any], context: facts.Context, now: dt.datetime
    ) -> tuple[list[object], dict[rollup.Bucket, int]]:
        """The new case's rows with its report facts added, and what it adds to the
        rollup (computed here from the rows in memory, not read back)."""
        case, event, *history = objects
        clocks = sorted((h for h in history if isinstance(h, SlaClock)), key=lambda c: c.id)
        row = facts.of_new_case(case, [event], clocks, context)
        delta = rollup.contributions(row, self.zone)
        return [*objects, rows.new(CaseFacts, **row, updated_at=now)], delta

    async def _roll_up(self, session: AsyncSession, deltas: list[dict[rollup.Bucket, int]]) -> None:
        total: dict[rollup.Bucket, int] = {}
        for delta in deltas:
            for bucket, n in delta.items():
                total[bucket] = total.get(bucket, 0) + n
        tenant_id = bound_tenant(session)
        assert tenant_id is not None
        await rollup.apply(session, tenant_id, total)

    async def _build(
        self,
        record_: ImportedCase,
        clocks: ClockService,
        customers: CustomerService,
        now: dt.datetime,
    ) -> list[object]:
        customer = None
        if record_.customer is not None:
            customer = await customers.resolve_for_intake(record_.customer)
        values = self._values(record_)
        case = rows.new(
            Case,
            id=new_id(),
            number=record_.number,
            customer_id=customer.id if customer else None,
            escalation_level=0,
            merged_into_id=None,
            registrar_id=self.codes.user(record_.registrar),
            handler_history=[],
            collaborating_department_ids=[],
            repeat_of=[],
            is_repeat=False,
            external_id=record_.external_id,
            import_run_id=self.run_id,
            import_digest=self.digests[record_.row],
            version=1,
            created_at=now,
            updated_at=now,
            **values,
        )
        handler = self.codes.user(record_.handler)
        case.handler_id = handler
        if handler is not None:
            case.handler_history = [handler]
        case.lead_department_id = self.codes.department(record_.department)
        nickname = customer.nickname if customer else None
        case.search = vector_text(
            document_tokens(case.number, case.title, case.description, nickname)
        )
        history = await clock_history(clocks, case, record_, now)
        event = rows.new(
            CaseEvent,
            id=new_id(),
            case_id=case.id,
            type="imported",
            actor=self.actor,
            visibility="internal",
            from_status=None,
            to_status=case.status,
            data={"run": str(self.run_id), "row": record_.row, "number": case.number},
            created_at=record_.received_at,
        )
        return [case, event, *history]

    def _values(self, record_: ImportedCase) -> dict[str, Any]:
        """The case columns the record gives (shared by new and updated cases)."""
        category = self.codes.categories.get(record_.category) if record_.category else None
        severity = self.codes.severities.get(record_.severity) if record_.severity else None
        resolution = {
            k: v
            for k, v in {
                "root_cause": record_.root_cause,
                "responsible_party": record_.responsible_party,
                "third_party": record_.third_party,
                "solution_type": record_.solution_type,
                "result": record_.resolution_result,
            }.items()
            if v is not None
        }
        extra = dict(record_.extra)
        for name in ("verification_note", "progress_note", "satisfaction_reason", "followup_note"):
            value = getattr(record_, name)
            if value is not None:
                extra[name] = value
        return {
            "kind": record_.kind,
            "status": Status(record_.status).value,
            "channel": record_.channel,
            "received_at": record_.received_at,
            "title": record_.title,
            "description": record_.description,
            "category_id": category.id if category else None,
            "category_code": category.code if category else None,
            "severity_id": severity.id if severity else None,
            "severity_code": severity.code if severity else None,
            "severity_rank": severity.rank if severity else 0,
            # As `product_dict` stores it (the fields given, dates as ISO text), at once.
            "product": msgspec.to_builtins(record_.product) if record_.product else {},
            "problem_at": record_.problem_at,
            "problem_place": record_.problem_place,
            "demands": list(record_.demands),
            "extra": msgspec.to_builtins(extra),
            "deadline": record_.deadline,
            "due_at": None,
            "resolution": resolution or None,
            "first_satisfaction": record_.first_satisfaction,
            "followup_outcome": record_.followup_outcome,
            "resolved_at": record_.resolved_at,
            "closed_at": record_.closed_at,
            "archived_at": record_.archived_at,
        }

    # ---- changed cases --------------------------------------------------------------------

    async def _update(
        self, session: AsyncSession, record_: ImportedCase, case_id: uuid.UUID
    ) -> None:
        case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        assert case is not None
        values = self._values(record_)
        values.pop("due_at")
        before = {name: getattr(case, name) for name in _UPDATED_FIELDS}
        for name, value in values.items():
            if name == "received_at" and value is None:
                continue
            setattr(case, name, value)
        case.import_digest = self.digests[record_.row]
        case.version += 1
        case.search = vector_text(document_tokens(case.number, case.title, case.description))
        clocks = ClockService(session, actor=self.actor, settings=self.settings)
        await redo_clock_history(session, clocks, case, record_, utcnow())
        after = {name: getattr(case, name) for name in _UPDATED_FIELDS}
        old, new = diff(before, after)
        await record(
            session,
            actor=self.actor,
            action="case.import_update",
            entity_type="case",
            entity_id=case.id,
            before={**old, "row": record_.row},
            after={**new, "run": str(self.run_id)},
        )
