"""The writer: an import run's rows stored as cases, its failed rows as row errors.

    writer = ImportWriter(factory, settings, tenant_id=tenant_id, actor="admin:...")
    run = await writer.run(run_id, source, mapping, encoding=None, sheet=None)

The file is read once, row by row, and written in batches of `BATCH` rows, one
transaction each, so memory stays flat however long the file and the run's progress is
visible while it goes (`import_runs` counts). A batch that the database refuses is
written again row by row, each in a savepoint: a broken row becomes a row error and
never stops the others.

What a new case gets (historical cases keep their history):

* its received time, status, resolution, satisfaction and times as the file says;
* a number from the file's number column, else from the tenant's pattern by its
  received date (counters reserved per batch, in received order within the batch);
* its SLA clocks as history (`ClockService.record_history`): started at the received
  time, stopped when the case was resolved (else closed, archived, followed up), met or
  breached by their due times; a case still open is stopped at the import; a finished
  case without any such time gets no clocks (nothing to measure);
* the customer, found or created by keyed hash as intake does (`CustomerService`);
* its search document, one internal timeline event `imported`, and the run's id.

No notification and no outbox message: nothing tells customers or staff of history.
The audit trail gets one `import.run` entry per run with its counts, one
`case.import_update` per case a re-import changed; creating the run's cases is that
run's entry (undo writes `import.undo`).

Re-imports match on `external_id`: a row whose digest is the stored one is unchanged, a
different one updates its case (version + 1, audited).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import queue
import threading
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop import rows
from closeloop.audit.service import diff, record
from closeloop.cases.intake import product_dict
from closeloop.cases.lifecycle import OPEN, Status
from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.numbering import numbering_for_kind
from closeloop.cases.search import document_tokens, vector_text
from closeloop.config import current
from closeloop.customers.service import CustomerService
from closeloop.db import new_id, transaction, utcnow
from closeloop.imports._numbers import NumberBook
from closeloop.imports._tenant import TenantCodes
from closeloop.imports.engine import Mapper
from closeloop.imports.mapping import Mapping, MappingError
from closeloop.imports.models import ImportRowError, ImportRun
from closeloop.imports.reading import ReadError, open_table
from closeloop.imports.records import CellError, ImportedCase, RowErrors
from closeloop.logs import get_logger
from closeloop.settings import Settings
from closeloop.sla.clocks import ClockService

__all__ = ["BATCH", "ImportWriter", "Source", "digest"]

log = get_logger(__name__)

BATCH = 500
Source = bytes | Path
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
class _Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0


class ImportWriter:
    """Runs imports for one tenant, as `actor`, in transactions of its own."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        tenant_id: uuid.UUID,
        actor: str,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.tenant_id = tenant_id
        self.actor = actor

    def _tx(self) -> Any:
        return transaction(self.factory, self.tenant_id)

    async def run(
        self,
        run_id: uuid.UUID,
        source: Source,
        mapping: Mapping,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
    ) -> ImportRun:
        """Read `source` with `mapping` and write (or, for a dry run, only count) its
        rows. A file that cannot be read or a mapping that does not fit it fails the run
        with the reason; a broken row is a row error."""
        async with self._tx() as session:
            run = await _run(session, run_id)
            run.status, run.started_at = "running", utcnow()
            dry_run = run.dry_run
            codes = await TenantCodes.load(session)
            tenant = await current.tenant(session)
            profile = await current.profile(session)
        zone = zoneinfo.ZoneInfo(tenant.timezone)
        options = mapping.read_options()
        for key, given in (("encoding", encoding), ("delimiter", delimiter), ("sheet", sheet)):
            if given:
                options[key] = given
        counts = _Counts()
        try:
            with open_table(source, **options) as table:
                described = table.describe()
                mapper = Mapper(mapping, table.header, known=codes.known, time_zone=zone)
                async with self._tx() as session:
                    run = await _run(session, run_id)
                    run.format = str(described.get("format") or "")[:8] or None
                    run.encoding = described.get("encoding")
                    run.encoding_source = described.get("encoding_source")
                    run.delimiter = described.get("delimiter")
                batch = _Batch(
                    self,
                    run_id,
                    codes,
                    zone,
                    profile.number_patterns if profile else None,
                    dry_run=dry_run,
                )
                created_so_far = 0
                async for chunk in _ahead(_chunks(mapper.map_rows(table.rows()), BATCH)):
                    # The reader thread may be adding to the list meanwhile.
                    fresh = mapper.creations[created_so_far:]
                    created_so_far += len(fresh)
                    await batch.write(chunk, fresh, counts)
        except (ReadError, MappingError, UnicodeError, LookupError) as exc:
            return await self._finish(run_id, counts, failure=str(exc))
        return await self._finish(run_id, counts, failure=None)

    async def fail(self, run_id: uuid.UUID, failure: str) -> None:
        """Mark the run failed after an unexpected error (what was written stays)."""
        async with self._tx() as session:
            run = await _run(session, run_id)
            run.status, run.failure, run.finished_at, run.source = "failed", failure, utcnow(), None

    async def _finish(
        self, run_id: uuid.UUID, counts: _Counts, *, failure: str | None
    ) -> ImportRun:
        async with self._tx() as session:
            run = await _run(session, run_id)
            _count(run, counts)
            run.status = "failed" if failure else "done"
            run.failure = failure
            run.finished_at = utcnow()
            run.source = None
            if not run.dry_run:
                await record(
                    session,
                    actor=self.actor,
                    action="import.run",
                    entity_type="import_run",
                    entity_id=run.id,
                    after={
                        "file_name": run.file_name,
                        "mapping": run.mapping,
                        "status": run.status,
                        **dataclasses.asdict(counts),
                    },
                )
        return run


async def _run(session: AsyncSession, run_id: uuid.UUID) -> ImportRun:
    run = await session.scalar(
        select(ImportRun).where(ImportRun.id == run_id).execution_options(populate_existing=True)
    )
    if run is None:
        raise LookupError(f"no import run {run_id}")
    return run


def _count(run: ImportRun, counts: _Counts) -> None:
    run.rows, run.created, run.updated = counts.rows, counts.created, counts.updated
    run.unchanged, run.errors = counts.unchanged, counts.errors


def _chunks(
    results: Iterator[ImportedCase | RowErrors], size: int
) -> Iterator[list[ImportedCase | RowErrors]]:
    chunk: list[ImportedCase | RowErrors] = []
    for result in results:
        chunk.append(result)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_FIELD = {"id": "external_id", "number": "number"}
_CHUNK = 64


async def _insert_bounded(session: AsyncSession, objects: list[Any]) -> None:
    """INSERT `objects` (models in the order first met: parents before children) in
    statements of few shapes: per model, groups of 64 and the rest in powers of two. The
    driver path keeps one built statement per shape; one statement for a whole batch
    would be a new shape nearly every batch, and memory would grow with the file."""
    by_model: dict[type, list[Any]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    for group in by_model.values():
        start = 0
        while start < len(group):
            left = len(group) - start
            size = _CHUNK if left >= _CHUNK else 1 << (left.bit_length() - 1)
            await rows.insert(session, *group[start : start + size])
            start += size


def _first_in_batch(
    records: list[ImportedCase], errors: list[CellError], counts: _Counts
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


_END = object()


async def _ahead(
    chunks: Iterator[list[ImportedCase | RowErrors]],
) -> AsyncIterator[list[ImportedCase | RowErrors]]:
    """The chunks, read and mapped on a thread of their own a little ahead of the writer:
    the next batch is mapped while the database writes this one. At most two wait."""
    waiting: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the writer, raised there
            offer(exc)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = await asyncio.to_thread(waiting.get)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)


class _Batch:
    """Writes one batch of mapped rows in one transaction."""

    def __init__(
        self,
        writer: ImportWriter,
        run_id: uuid.UUID,
        codes: TenantCodes,
        zone: zoneinfo.ZoneInfo,
        patterns: dict[str, str] | None,
        *,
        dry_run: bool,
    ) -> None:
        self.writer = writer
        self.run_id = run_id
        self.codes = codes
        self.zone = zone
        self.patterns = patterns
        self.dry_run = dry_run
        self.digests: dict[int, bytes] = {}

    async def write(
        self, chunk: list[ImportedCase | RowErrors], creations: list[Any], counts: _Counts
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
        async with self.writer._tx() as session:
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
                counts.updated += len(changed)
            if errors:
                await _insert_bounded(
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
            run = await _run(session, self.run_id)
            _count(run, counts)

    async def _existing(
        self, session: AsyncSession, records: list[ImportedCase]
    ) -> dict[str, tuple[uuid.UUID, bytes | None, uuid.UUID | None]]:
        """Cases an import made of these rows (id, digest, run), by `_key`."""
        found: dict[str, tuple[uuid.UUID, bytes | None, uuid.UUID | None]] = {}
        shown = (Case.id, Case.import_digest, Case.import_run_id)
        ids = [r.external_id for r in records if r.external_id]
        if ids:
            query = select(Case.external_id, *shown).where(Case.external_id.in_(ids))
            for key, case_id, stored, run_id in await session.execute(query):
                found[f"id:{key}"] = (case_id, stored, run_id)
        numbers = [r.number for r in records if r.number and not r.external_id]
        if numbers:
            query = select(Case.number, *shown).where(
                Case.number.in_(numbers), Case.import_digest.is_not(None)
            )
            for key, case_id, stored, run_id in await session.execute(query):
                found[f"number:{key}"] = (case_id, stored, run_id)
        return found

    async def _numbers_free(
        self,
        session: AsyncSession,
        records: list[ImportedCase],
        errors: list[CellError],
        counts: _Counts,
    ) -> list[ImportedCase]:
        """New rows whose number column names a number a case of the tenant has are errors."""
        given = [r.number for r in records if r.number]
        if not given:
            return records
        taken = set(await session.scalars(select(Case.number).where(Case.number.in_(given))))
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
        counts: _Counts,
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
            [
                (numbering_for_kind(self.patterns, r.kind), r.received_at or now)
                for r in records
                if not r.number
            ]
        )
        clocks = ClockService(session, actor=self.writer.actor, settings=self.writer.settings)
        customers = CustomerService(session, principal=None, settings=self.writer.settings)
        built: list[tuple[ImportedCase, list[object]]] = []
        for record_ in records:
            if not record_.number:
                record_.number = numbers.pop(0)
            try:
                built.append((record_, await self._build(record_, clocks, customers, now)))
            except Exception as exc:
                errors.append(CellError(record_.row, None, None, "", f"not stored: {exc}"))
                counts.errors += 1
        try:
            async with session.begin_nested():
                await _insert_bounded(session, [obj for _, objs in built for obj in objs])
        except Exception as exc:
            log.info("import batch refused, writing it row by row", reason=str(exc)[:200])
        else:
            return len(built)
        stored = 0
        for record_, objs in built:
            try:
                async with session.begin_nested():
                    await rows.insert(session, *objs)
                stored += 1
            except Exception as exc:
                errors.append(CellError(record_.row, None, None, "", f"not stored: {exc}"))
                counts.errors += 1
        return stored

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
        ended = (
            record_.resolved_at or record_.closed_at or record_.archived_at or record_.followup_at
        )
        history: list[Any] = []
        if ended is not None or case.status in OPEN:
            history = await clocks.record_history(case, ended_at=ended or now, now=now)
        event = rows.new(
            CaseEvent,
            id=new_id(),
            case_id=case.id,
            type="imported",
            actor=self.writer.actor,
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
            "product": product_dict(record_.product),
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
        after = {name: getattr(case, name) for name in _UPDATED_FIELDS}
        old, new = diff(before, after)
        await record(
            session,
            actor=self.writer.actor,
            action="case.import_update",
            entity_type="case",
            entity_id=case.id,
            before={**old, "row": record_.row},
            after={**new, "run": str(self.run_id)},
        )
