"""The writer: an import run's rows stored as cases, its failed rows as row errors.

    writer = ImportWriter(factory, settings, tenant_id=tenant_id, actor="admin:...")
    run = await writer.run(run_id, source, mapping, encoding=None, sheet=None)

The file is read once, row by row, and written in batches of `BATCH` rows, one
transaction each, so memory stays flat however long the file and the run's progress is
visible while it goes (`import_runs` counts). A thread reads and maps ahead; a batch is
prepared while the one before it is written, on another connection, and commits after
it (`closeloop.imports._batch.Batch`). A batch that the database refuses is written
again row by row, each in a savepoint: a broken row becomes a row error and never stops
the others.

What a new case gets (historical cases keep their history):

* its received time, status, resolution, satisfaction and times as the file says;
* a number from the file's number column, else from the tenant's pattern by its
  received date (counters reserved per batch, in received order within the batch);
* its SLA clocks as history (`ClockService.record_history`): started at the received
  time, stopped when the case was resolved (else closed, archived, followed up), met or
  breached by their due times; a case still open is stopped at the import; a finished
  case without any such time gets no clocks (nothing to measure);
* the customer, found or created by keyed hash as intake does (`CustomerService`);
* its search document, one internal timeline event `imported`, and the run's id;
* its report facts (`case_facts`, computed from these rows in memory) and its share of
  the daily rollup, in the same transaction (a changed case's facts are refreshed).

No notification and no outbox message: nothing tells customers or staff of history.
The audit trail gets one `import.run` entry per run with its counts, one
`case.import_update` per case a re-import changed; creating the run's cases is that
run's entry (undo writes `import.undo`).

Re-imports match on `external_id`: a row whose digest is the stored one is unchanged, a
different one updates its case (version + 1, audited). A tenant's first import (no case
yet, no number column) looks no keys up: the unique index finds a repeated one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.audit.service import record
from closeloop.cases.models import Case
from closeloop.config import current
from closeloop.db import transaction, utcnow
from closeloop.imports._ahead import ahead, chunked
from closeloop.imports._batch import Batch, Counts, copy_counts, digest, load_run
from closeloop.imports._tenant import TenantCodes
from closeloop.imports.engine import Mapper
from closeloop.imports.mapping import Mapping, MappingError
from closeloop.imports.models import ImportRun
from closeloop.imports.reading import ReadError, SourceRow, open_table
from closeloop.logs import get_logger
from closeloop.settings import Settings

__all__ = ["BATCH", "ImportWriter", "Source", "digest"]

BATCH = 500
Source = bytes | Path
log = get_logger(__name__)


@dataclasses.dataclass
class ImportWriter:
    """Runs imports for one tenant, as `actor`, in transactions of its own."""

    factory: async_sessionmaker[AsyncSession]
    settings: Settings
    _: dataclasses.KW_ONLY
    tenant_id: uuid.UUID
    actor: str

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
            run = await load_run(session, run_id)
            run.status, run.started_at = "running", utcnow()
            dry_run = run.dry_run
            codes = await TenantCodes.load(session)
            tenant = await current.tenant(session)
            profile = await current.profile(session)
            # A company's first import: no case its rows could meet but their own.
            first_import = "number" not in mapping.fields and (
                await session.scalar(select(Case.id).limit(1)) is None
            )
        zone = zoneinfo.ZoneInfo(tenant.timezone)
        options = mapping.read_options()
        for key, given in (("encoding", encoding), ("delimiter", delimiter), ("sheet", sheet)):
            if given:
                options[key] = given
        counts = Counts()
        try:
            with open_table(source, **options) as table:
                described = table.describe()
                mapper = Mapper(mapping, table.header, known=codes.known, time_zone=zone)
                async with self._tx() as session:
                    run = await load_run(session, run_id)
                    run.format = str(described.get("format") or "")[:8] or None
                    run.encoding = described.get("encoding")
                    run.encoding_source = described.get("encoding_source")
                    run.delimiter = described.get("delimiter")
                batch = Batch(
                    self._tx,
                    run_id,
                    codes,
                    zone,
                    profile.number_patterns if profile else None,
                    actor=self.actor,
                    settings=self.settings,
                    dry_run=dry_run,
                    first_import=first_import,
                )
                await _write_all(batch, mapper, table.rows(), counts)
        except (ReadError, MappingError, UnicodeError, LookupError) as exc:
            failure: str | None = str(exc)
        else:
            failure = None
        return await self._finish(run_id, counts, failure=failure)

    async def fail(self, run_id: uuid.UUID, failure: str) -> None:
        """Mark the run failed after an unexpected error (what was written stays)."""
        async with self._tx() as session:
            run = await load_run(session, run_id)
            run.status, run.failure, run.finished_at, run.source = "failed", failure, utcnow(), None

    async def _finish(self, run_id: uuid.UUID, counts: Counts, *, failure: str | None) -> ImportRun:
        async with self._tx() as session:
            run = await load_run(session, run_id)
            copy_counts(run, counts)
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


async def _write_all(
    batch: Batch, mapper: Mapper, source: Iterator[SourceRow], counts: Counts
) -> None:
    """Write the mapped rows batch by batch: each batch is prepared while the one before
    it is written (two transactions open at most, committed in file order)."""
    created_so_far = 0
    previous: asyncio.Task[None] | None = None
    current: asyncio.Task[None] | None = None
    try:
        async for chunk in ahead(chunked(mapper.map_rows(source), BATCH)):
            # The reader thread may be adding to the list meanwhile.
            fresh = mapper.creations[created_so_far:]
            created_so_far += len(fresh)
            current = asyncio.create_task(batch.write(chunk, fresh, counts, after=previous))
            if previous is not None:
                await previous
            previous, current = current, None
        if previous is not None:
            await previous
    except Exception:
        # A batch failed (then `current` waits for it and gives up), or the file could
        # not be read further: the batch being written then still commits, as it would
        # have one at a time.
        await _cancel(current)
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
            if not previous.cancelled() and previous.exception() is not None:
                log.warning("import batch failed", reason=str(previous.exception())[:200])
        raise
    except BaseException:  # cancelled: nothing more is written
        await _cancel(current)
        await _cancel(previous)
        raise


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
