"""Import runs of the session's bound tenant: made, read, listed, undone.

The rows themselves are written by `ImportWriter` (`closeloop.imports.writer`), in the
background for the API (`closeloop.imports.actors`) and at once for the command.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.cases.models import Case
from closeloop.crud import Service
from closeloop.db import new_id, transaction, utcnow
from closeloop.errors import Conflict, NotFound, UnprocessableEntity
from closeloop.imports.mapping import SHIPPED, Mapping, MappingError, parse_mapping, shipped_mapping
from closeloop.imports.models import ImportRowError, ImportRun
from closeloop.imports.records import CellError, error_report_csv
from closeloop.imports.writer import ImportWriter, Source
from closeloop.queue.outbox import enqueue
from closeloop.reports.facts import forget
from closeloop.settings import Settings

__all__ = ["ImportService", "import_file", "resolve_mapping"]


def resolve_mapping(name: str | None, text: str | None) -> Mapping:
    """A shipped mapping by name, or a mapping given as TOML text; 422 when it is wrong."""
    try:
        if text:
            return parse_mapping(text, source=f"{name or 'mapping'}.toml")
        if name in SHIPPED:
            return shipped_mapping(name)
    except MappingError as exc:
        raise UnprocessableEntity(str(exc), field="mapping") from exc
    shipped = ", ".join(SHIPPED)
    raise UnprocessableEntity(
        f"name a shipped mapping ({shipped}) or give one as TOML", field="mapping"
    )


class ImportService(Service):
    async def create(
        self,
        *,
        file_name: str,
        mapping: Mapping,
        mapping_text: str | None = None,
        source: bytes | None = None,
        dry_run: bool = False,
        options: dict[str, Any] | None = None,
    ) -> ImportRun:
        """A queued run; `source` keeps the file's bytes until the run has read them."""
        run = ImportRun(
            id=new_id(),
            tenant_id=self.tenant(),
            file_name=file_name[:255],
            mapping=mapping.name[:100],
            mapping_text=mapping_text,
            options={k: v for k, v in (options or {}).items() if v},
            dry_run=dry_run,
            status="queued",
            actor=self.actor,
            source=source,
        )
        self.session.add(run)
        await self.session.flush()
        return run

    async def enqueue(self, run: ImportRun) -> None:
        """Have the worker run `run` once this transaction commits (`run_import`)."""
        await enqueue(self.session, "run_import", tenant_id=self.tenant(), run_id=str(run.id))

    async def get(self, run_id: uuid.UUID) -> ImportRun:
        run = await self.session.scalar(select(ImportRun).where(ImportRun.id == run_id))
        if run is None:
            raise NotFound("no such import run")
        return run

    async def list_runs(self, *, limit: int = 50) -> list[ImportRun]:
        query = select(ImportRun).order_by(ImportRun.created_at.desc(), ImportRun.id).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def errors(self, run_id: uuid.UUID, *, limit: int | None = None) -> list[CellError]:
        """The run's row errors by row (the first `limit` of them when given)."""
        await self.get(run_id)
        found = await self.session.execute(
            select(
                ImportRowError.row,
                ImportRowError.column,
                ImportRowError.field,
                ImportRowError.value,
                ImportRowError.reason,
            )
            .where(ImportRowError.run_id == run_id)
            .order_by(ImportRowError.row, ImportRowError.created_at)
            .limit(limit)
        )
        return [CellError(*row) for row in found.all()]

    async def errors_csv(self, run_id: uuid.UUID) -> str:
        return error_report_csv(await self.errors(run_id))

    async def undo(self, run_id: uuid.UUID) -> ImportRun:
        """Remove exactly the cases the run created; 409 once any of them changed since
        (its version moved on: an action, an edit, a re-import) or when the run is not
        a finished real run."""
        run = await self.session.scalar(
            select(ImportRun).where(ImportRun.id == run_id).with_for_update()
        )
        if run is None:
            raise NotFound("no such import run")
        if run.dry_run or run.status != "done":
            raise Conflict(f"only a finished import can be undone; this one is {run.status}")
        ours = Case.import_run_id == run.id
        changed = await self.session.scalar(select(exists().where(ours, Case.version > 1)))
        if changed:
            raise Conflict("cases of this import have changed since; it cannot be undone")
        await forget(
            self.session, list((await self.session.scalars(select(Case.id).where(ours))).all())
        )
        removed = await self.session.execute(delete(Case).where(ours).returning(Case.id))
        count = len(removed.all())
        run.status = "undone"
        run.finished_at = utcnow()
        await self.record(
            "import.undo",
            "import_run",
            run.id,
            after={"removed": count, "file_name": run.file_name},
        )
        return run


async def import_file(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    actor: str,
    source: Source,
    file_name: str,
    mapping: Mapping,
    dry_run: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> ImportRun:
    """Make a run and import `source` now, in this process (the command, tests)."""
    options = {"encoding": encoding, "delimiter": delimiter, "sheet": sheet}
    async with transaction(factory, tenant_id) as session:
        service = ImportService(session, actor=actor, settings=settings)
        run = await service.create(
            file_name=file_name, mapping=mapping, dry_run=dry_run, options=options
        )
    writer = ImportWriter(factory, settings, tenant_id=tenant_id, actor=actor)
    return await writer.run(run.id, source, mapping, **options)
