"""The import actor: `run_import`, enqueued by `POST /api/v1/imports` once the run and its
file are committed. Safe to deliver twice: a run that is no longer queued is left alone."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import undefer

from closeloop.imports.models import ImportRun
from closeloop.imports.service import resolve_mapping
from closeloop.imports.writer import ImportWriter
from closeloop.logs import get_logger
from closeloop.queue.actors import closeloop_actor, current_message, tenant_transaction

__all__ = ["run_import"]

log = get_logger(__name__)


@closeloop_actor(
    actor_name="run_import",
    queue_name="default",
    max_retries=0,
    time_limit=3_600_000,
)
async def run_import(*, tenant_id: str, message_id: str, run_id: str) -> None:
    """Read the run's file and write its rows (`ImportWriter`)."""
    async with tenant_transaction() as session:
        run = await session.scalar(
            select(ImportRun)
            .where(ImportRun.id == uuid.UUID(run_id))
            .options(undefer(ImportRun.source))
        )
        if run is None or run.status != "queued":
            return
        source = run.source or b""
        mapping = resolve_mapping(run.mapping, run.mapping_text)
        options = {k: run.options.get(k) for k in ("encoding", "delimiter", "sheet")}
        actor = run.actor
    context = current_message()
    writer = ImportWriter(
        context.sessionmaker,
        context.settings,
        tenant_id=uuid.UUID(tenant_id),
        actor=actor,
    )
    try:
        done = await writer.run(uuid.UUID(run_id), source, mapping, **options)
    except Exception as exc:
        # Not retried (a second run would meet the same file): the run says why it failed.
        await writer.fail(uuid.UUID(run_id), f"the import stopped: {exc}")
        raise
    log.info("import run finished", run_id=run_id, status=done.status, rows=done.rows)
