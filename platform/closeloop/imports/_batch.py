"""One batch of an import run written in one transaction (`closeloop.imports.writer`):
new cases with their numbers, SLA history, search document and timeline event, changed
cases updated and audited, row errors stored, the run's counts moved on."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
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
from closeloop.config.models import Category, Channel, DemandType, Department
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
# The unique keys a re-import matches on: a row refused by one is classified again.
_KEY_CONSTRAINTS = frozenset({"uq_cases_tenant_id_external_id", "uq_cases_tenant_id_number"})
_YIELD_EVERY = 20  # rows built between two turns of the event loop
_SHOWN = (Case.id, Case.import_digest, Case.import_run_id)
_TENANT = Case.tenant_id == bindparam("tenant_id")
_KEYS = bindparam("keys", type_=ARRAY(String))
# Lookups of a batch's keys: one array parameter (`= ANY`), one plan for every batch.
_BY_EXTERNAL_ID = rows.Query(
    select(Case.external_id.label("key"), *_SHOWN).where(_TENANT, Case.external_id == any_(_KEYS))
)
_BY_NUMBER = rows.Query(
    select(Case.number.label("key"), *_SHOWN).where(
        _TENANT, Case.number == any_(_KEYS), Case.import_digest.is_not(None)
    )
)
_TAKEN_NUMBERS = rows.Query(
    select(Case.number.label("key")).where(_TENANT, Case.number == any_(_KEYS))
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


Found = tuple[uuid.UUID, bytes | None, uuid.UUID | None]  # a case's id, digest, import run


@dataclasses.dataclass(eq=False)
class _Built:
    """A new case made ready before the batch's turn to write: its rows (case, timeline
    event, SLA history, report facts) and rollup share; what needs the database in
    order (number, customer) is filled in when its turn comes."""

    record: ImportedCase
    case: Case
    event: CaseEvent
    objects: list[object]
    delta: dict[rollup.Bucket, int]
    search: str  # the search document's text without the number and the nickname
    finished: bool = False  # numbered, its customer found, its search document whole


@dataclasses.dataclass(eq=False)
class _Work:
    """One batch from its preparation to its commit."""

    counts: Counts
    errors: list[CellError]
    records: list[ImportedCase]
    digests: dict[int, bytes]
    found: dict[str, Found]
    built: dict[int, _Built]
    now: dt.datetime
    stale: bool  # looked up while an earlier batch was still being written
    planned: list[Category | Channel | DemandType | Department]  # configuration to create
    ready: rows.Many | None = None  # the INSERT of every built case, made ready


@dataclasses.dataclass
class Batch:
    """Writes the batches of one run, each in a transaction of its own.

    A batch is prepared (rows classified by a first look-up, new cases built: the CPU
    work) while the batch before it is being written, on another connection; then,
    once that one has committed, it takes its turn: looks its keys up again if they
    may have changed meanwhile, resolves customers, takes numbers, writes and commits.
    So at most two batches are open, and they commit in file order."""

    tx: Callable[[], Any]
    run_id: uuid.UUID
    codes: TenantCodes
    zone: zoneinfo.ZoneInfo
    patterns: dict[str, str] | None
    _: dataclasses.KW_ONLY
    actor: str
    settings: Settings
    dry_run: bool
    # The tenant had no case when the run began and the file gives no numbers: the only
    # cases its rows can meet are this run's, so keys are not looked up (the unique
    # indexes refuse a repeated one, and the row is classified then), and numbers from
    # the counters are new. A look-up of 500 keys is left to statistics that, during a
    # first import, take the tenant for a few rows: every batch read the whole tenant.
    first_import: bool = False
    context: facts.Context | None = dataclasses.field(default=None, init=False)
    numberings: dict[str, CaseNumbering] = dataclasses.field(default_factory=dict, init=False)

    async def write(
        self,
        chunk: list[ImportedCase | RowErrors],
        creations: list[Creation],
        totals: Counts,
        *,
        after: asyncio.Future[None] | None = None,
    ) -> None:
        """Write `chunk`; its counts are added to `totals` when it commits. `after` is
        the batch before, still being written: this one waits for it to finish, and
        gives up (nothing written) when it failed."""
        async with self.tx() as session:
            stale = after is not None and not after.done()
            work = await self._prepare(session, chunk, creations, stale=stale)
            if after is not None:
                await asyncio.wait([after])
                if after.cancelled() or after.exception() is not None:
                    raise RuntimeError("an earlier batch of the import failed")
            await self._write(session, work)
            for field in dataclasses.fields(Counts):
                setattr(
                    totals,
                    field.name,
                    getattr(totals, field.name) + getattr(work.counts, field.name),
                )
            run = await load_run(session, self.run_id)
            copy_counts(run, totals)

    # ---- before its turn --------------------------------------------------------------

    async def _prepare(
        self,
        session: AsyncSession,
        chunk: list[ImportedCase | RowErrors],
        creations: list[Creation],
        *,
        stale: bool,
    ) -> _Work:
        counts, errors, records = Counts(), list[CellError](), list[ImportedCase]()
        for result in chunk:
            counts.rows += 1
            if isinstance(result, RowErrors):
                errors += result.errors
                counts.errors += 1
            else:
                records.append(result)
        # Written in the batch's turn: an item may be the child of one the batch before
        # creates, not yet committed (a foreign key does not wait for it).
        planned = self.codes.plan(creations) if creations and not self.dry_run else []
        records = _first_in_batch(records, errors, counts)
        work = _Work(
            counts,
            errors,
            records,
            # Taken before the writer fills in what the file left out (number, time).
            {r.row: digest(r) for r in records},
            await self._existing(session, records),
            {},
            utcnow(),
            stale,
            planned,
        )
        if not self.dry_run:
            clocks = ClockService(session, actor=self.actor, settings=self.settings)
            context = await self._context(session)
            for n, record_ in enumerate(records):
                if _key(record_) not in work.found:
                    await self._build(work, record_, clocks, context, errors, counts)
                if n % _YIELD_EVERY == _YIELD_EVERY - 1:
                    # Let the batch being written go on as soon as the database answers.
                    await asyncio.sleep(0)
            await self._make_ready(session, work)
        return work

    async def _make_ready(self, session: AsyncSession, work: _Work) -> None:
        """Number the built cases and make their INSERT ready now, unless one needs a
        customer (found or created in the batch's turn, as the batches before may
        create the same one). The numbers are taken in a transaction of their own,
        committed at once, so that the counters are not held while the batch before
        is written; a batch that then fails leaves a gap in the numbers."""
        ready = self._in_order(work, list(work.built.values()))
        if not ready or any(b.record.customer is not None for b in ready):
            return
        async with self.tx() as numbering:
            numbers = await self._numbers(numbering, ready, work.now)
        for built in ready:
            await self._finish(built, numbers, None)
        work.ready = rows.many(session, [obj for b in ready for obj in b.objects])

    async def _build(
        self,
        work: _Work,
        record_: ImportedCase,
        clocks: ClockService,
        context: facts.Context,
        errors: list[CellError],
        counts: Counts,
    ) -> None:
        """Build the new case of `record_` into `work.built`, or report why not."""
        try:
            work.built[record_.row] = await self._new_case(work, record_, clocks, context)
        except Exception as exc:
            errors.append(CellError(record_.row, None, None, "", f"not stored: {exc}"))
            counts.errors += 1

    async def _new_case(
        self, work: _Work, record_: ImportedCase, clocks: ClockService, context: facts.Context
    ) -> _Built:
        now = work.now
        if record_.received_at is None:
            record_.received_at = now
        values = self._values(record_)
        handler = self.codes.user(record_.handler)
        case = rows.new(
            Case,
            id=new_id(),
            number=None,
            customer_id=None,
            escalation_level=0,
            merged_into_id=None,
            registrar_id=self.codes.user(record_.registrar),
            handler_id=handler,
            handler_history=[handler] if handler is not None else [],
            lead_department_id=self.codes.department(record_.department),
            collaborating_department_ids=[],
            repeat_of=[],
            is_repeat=False,
            external_id=record_.external_id,
            import_run_id=self.run_id,
            import_digest=work.digests[record_.row],
            version=1,
            created_at=now,
            updated_at=now,
            **values,
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
            data={"run": str(self.run_id), "row": record_.row},
            created_at=record_.received_at,
        )
        clocks_ = sorted((h for h in history if isinstance(h, SlaClock)), key=lambda c: c.id)
        facts_row = facts.of_new_case(case, [event], clocks_, context)
        return _Built(
            record_,
            case,
            event,
            [case, event, *history, rows.new(CaseFacts, **facts_row, updated_at=now)],
            rollup.contributions(facts_row, self.zone),
            vector_text(document_tokens(case.title, case.description)),
        )

    # ---- its turn ---------------------------------------------------------------------

    async def _write(self, session: AsyncSession, work: _Work) -> None:
        counts, errors = work.counts, work.errors
        await self.codes.store(session, work.planned)
        # Cases an earlier batch wrote while this one was prepared are seen now.
        found = await self._existing(session, work.records) if work.stale else work.found
        new, changed = self._classify(work, work.records, found)
        new = await self._numbers_free(session, new, errors, counts)
        if self.dry_run:
            counts.created += len(new)
            counts.updated += len(changed)
        else:
            counts.created += await self._insert(session, work, new, changed)
            for record_, case_id in changed:
                await self._update(session, record_, case_id, work.digests[record_.row])
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

    def _classify(
        self, work: _Work, records: list[ImportedCase], found: dict[str, Found]
    ) -> tuple[list[ImportedCase], list[tuple[ImportedCase, uuid.UUID]]]:
        """The new rows and the changed ones (with their case); a row whose case an
        earlier row of the file made is an error, one whose case has its digest is
        unchanged (both counted)."""
        new: list[ImportedCase] = []
        changed: list[tuple[ImportedCase, uuid.UUID]] = []
        for record_ in records:
            match = found.get(_key(record_))
            if match is None:
                new.append(record_)
            elif match[2] == self.run_id:
                # Written by an earlier batch of this run: kept in the database, not in
                # memory, so that memory stays flat however long the file.
                what = "id" if record_.external_id else "number"
                value = record_.external_id or record_.number or ""
                reason = f"an earlier row of this file has the same {what}"
                work.errors.append(CellError(record_.row, None, _FIELD[what], value, reason))
                work.counts.errors += 1
            elif match[1] == work.digests[record_.row]:
                work.counts.unchanged += 1
            else:
                changed.append((record_, match[0]))
        return new, changed

    async def _existing(
        self, session: AsyncSession, records: list[ImportedCase], *, always: bool = False
    ) -> dict[str, Found]:
        """Cases an import made of these rows (id, digest, run), by `_key`. Nothing is
        looked up in a first import (see `first_import`) unless `always`."""
        found: dict[str, Found] = {}
        if self.first_import and not always:
            return found
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
        taken = {row["key"] for row in await _TAKEN_NUMBERS.fetch(session, keys=given)}
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

    async def _insert(
        self,
        session: AsyncSession,
        work: _Work,
        records: list[ImportedCase],
        changed: list[tuple[ImportedCase, uuid.UUID]],
    ) -> int:
        """Write the new cases of `records`: as made ready before when they are the ones
        built then (the usual case), else finished now (a case an earlier batch wrote
        meanwhile is not new after all; one taken for a known case is built now);
        answers how many were stored. A row refused because a case has its external id
        or number (another row of the file, in a first import) is classified against
        that case, as the look-up would have; a changed one goes to `changed`."""
        if not records:
            return 0
        counts, errors = work.counts, work.errors
        rows_new = {r.row for r in records}
        if work.ready is not None and rows_new == set(work.built):
            ready = self._in_order(work, list(work.built.values()))
            objects: rows.Many | list[object] = work.ready
        else:
            clocks = ClockService(session, actor=self.actor, settings=self.settings)
            context = await self._context(session)
            for record_ in records:
                if record_.row not in work.built:
                    await self._build(work, record_, clocks, context, errors, counts)
            built = [b for row, b in work.built.items() if row in rows_new]
            ready = []
            numbers = await self._numbers(session, self._in_order(work, built), work.now)
            customers = CustomerService(
                session, principal=None, settings=self.settings, actor=self.actor
            )
            for each in self._in_order(work, built):
                try:
                    await self._finish(each, numbers, customers)
                except Exception as exc:
                    errors.append(CellError(each.record.row, None, None, "", f"not stored: {exc}"))
                    counts.errors += 1
                else:
                    ready.append(each)
            objects = [obj for b in ready for obj in b.objects]
        try:
            async with session.begin_nested():
                await rows.insert_many(session, objects)
        except Exception as exc:
            log.info("import batch refused, writing it row by row", reason=str(exc)[:200])
        else:
            await self._roll_up(session, [b.delta for b in ready])
            return len(ready)
        stored = []
        taken: dict[int, Exception] = {}
        for each in ready:
            try:
                async with session.begin_nested():
                    await rows.insert_many(session, each.objects)
                stored.append(each.delta)
            except Exception as exc:
                if getattr(exc, "constraint_name", None) in _KEY_CONSTRAINTS:
                    taken[each.record.row] = exc
                    continue
                errors.append(CellError(each.record.row, None, None, "", f"not stored: {exc}"))
                counts.errors += 1
        await self._roll_up(session, stored)
        if taken:
            again = [each.record for each in ready if each.record.row in taken]
            found = await self._existing(session, again, always=True)
            still_new, also_changed = self._classify(work, again, found)
            changed += also_changed
            for record_ in still_new:  # its number is another row's, given in the file
                reason = f"not stored: {taken[record_.row]}"
                errors.append(CellError(record_.row, None, None, "", reason))
                counts.errors += 1
        return len(stored)

    @staticmethod
    def _in_order(work: _Work, built: list[_Built]) -> list[_Built]:
        """Received order (then file order): the order numbers are given in."""
        return sorted(built, key=lambda b: (b.record.received_at or work.now, b.record.row))

    async def _numbers(
        self, session: AsyncSession, ready: list[_Built], now: dt.datetime
    ) -> Iterator[str]:
        """New numbers for the cases of `ready` without one, in that order."""
        wanted = [
            (self._numbering(b.record.kind), b.record.received_at or now)
            for b in ready
            if not b.finished and not b.record.number
        ]
        return iter(await NumberBook(session, self.zone).take(wanted) if wanted else [])

    async def _finish(
        self, built: _Built, numbers: Iterator[str], customers: CustomerService | None
    ) -> None:
        """Complete a new case: its number (the next of `numbers` when the file gives
        none), its customer (found or created as intake does), and its search document
        with both."""
        if built.finished:
            return
        record_ = built.record
        if not record_.number:
            record_.number = next(numbers)
        customer = None
        if record_.customer is not None:
            assert customers is not None, "a customer is resolved in the batch's turn"
            customer = await customers.resolve_for_intake(record_.customer)
        own = vector_text(document_tokens(record_.number, customer.nickname if customer else None))
        # The rows are the writer's own, never flushed by the ORM: their attributes are set
        # as `rows.new` sets them, without the ORM's change events.
        vars(built.case).update(
            number=record_.number,
            customer_id=customer.id if customer else None,
            # PostgreSQL sorts a document's lexemes and drops repeats as it reads it.
            search=f"{own} {built.search}" if built.search else own,
        )
        vars(built.event)["data"] = {**built.event.data, "number": record_.number}
        built.finished = True

    def _numbering(self, kind: str) -> CaseNumbering:
        found = self.numberings.get(kind)
        if found is None:
            found = self.numberings[kind] = numbering_for_kind(self.patterns, kind)
        return found

    async def _context(self, session: AsyncSession) -> facts.Context:
        if self.context is None:
            self.context = await facts.load_context(session)
        return self.context

    async def _roll_up(self, session: AsyncSession, deltas: list[dict[rollup.Bucket, int]]) -> None:
        total: dict[rollup.Bucket, int] = {}
        for delta in deltas:
            for bucket, n in delta.items():
                total[bucket] = total.get(bucket, 0) + n
        tenant_id = bound_tenant(session)
        assert tenant_id is not None
        await rollup.apply(session, tenant_id, total)

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
        self, session: AsyncSession, record_: ImportedCase, case_id: uuid.UUID, digest_: bytes
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
        case.import_digest = digest_
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
