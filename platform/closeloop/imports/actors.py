"""The import actors.

`run_import`, enqueued by `POST /api/v1/imports` (and the console) once the run and its
file are committed. Safe to deliver twice: a run that is no longer queued is left alone.

`delete_expired_uploads`, the upload sweep: every `SWEEP_EVERY_SECONDS` the scheduler
asks `uploads_due` which tenants have an upload of the console's import page whose
time ran out (`closeloop_import_uploads_due()`, migration 0022: a SECURITY DEFINER
function reading `import_uploads.expires_at` across tenants through its index, and
returning tenant ids only), and queues the job for those alone; most hours, none. The
job deletes the tenant's expired uploads under its own row-level security, each
audited (`ImportUploadService.delete_expired`). Safe to deliver twice: a second
delivery finds nothing left; a job that fails is queued again by the next sweep.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from closeloop.db import utcnow
from closeloop.imports.models import ImportRun
from closeloop.imports.service import resolve_mapping
from closeloop.imports.uploads import SWEEP_ACTOR, ImportUploadService
from closeloop.imports.writer import ImportWriter
from closeloop.logs import get_logger
from closeloop.queue.actors import (
    actor_transaction,
    closeloop_actor,
    current_message,
    tenant_transaction,
)
from closeloop.queue.schedule import register

__all__ = ["DUE_SQL", "SWEEP_EVERY_SECONDS", "delete_expired_uploads", "run_import", "uploads_due"]

log = get_logger(__name__)

SWEEP_EVERY_SECONDS = 3600
DUE_SQL = "SELECT tenant_id FROM closeloop_import_uploads_due(:due_by)"
_DUE = text(DUE_SQL)


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


async def uploads_due(session: AsyncSession, now: dt.datetime) -> Sequence[uuid.UUID]:
    """The tenants with an upload whose time ran out by `now` (active tenants only)."""
    return list((await session.scalars(_DUE, {"due_by": now})).all())


@closeloop_actor(
    actor_name="delete_expired_uploads",
    queue_name="default",
    max_retries=3,
    time_limit=300_000,
)
async def delete_expired_uploads(*, tenant_id: str, message_id: str) -> None:
    """Delete this tenant's uploads of the import page whose time ran out."""
    async with actor_transaction() as session:
        deleted = await ImportUploadService(session, actor=SWEEP_ACTOR).delete_expired(utcnow())
    if deleted:
        log.info("expired import uploads deleted", count=deleted)


register(
    "import_uploads_expired", SWEEP_EVERY_SECONDS, "delete_expired_uploads", targets=uploads_due
)
