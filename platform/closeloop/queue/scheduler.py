"""The scheduler: the relay plus the periodic sweeps, until told to stop.

Each sweep registered with `closeloop.queue.schedule.register()` fans out once per
period: one outbox message per active tenant (or per tenant its `targets` names),
written in one transaction that also moves the sweep's `scheduled_runs` row (locked,
so two schedulers never both fan out the same period). Once an hour, sent outbox rows
and processed-message records older than the retention are pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import dramatiq
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, tenant_scope, transaction, utcnow
from closeloop.logs import get_logger
from closeloop.queue import registry
from closeloop.queue.models import ScheduledRun
from closeloop.queue.outbox import enqueue
from closeloop.queue.relay import Relay, prune
from closeloop.queue.schedule import Schedule, schedules
from closeloop.tenancy.models import Tenant, TenantStatus

__all__ = ["RETENTION_DAYS", "fan_out", "run_scheduler", "tick"]

log = get_logger(__name__)

RETENTION_DAYS = 7
_PRUNE_EVERY = dt.timedelta(hours=1)
_NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def fan_out(engine: AsyncEngine, schedule: Schedule) -> int:
    """Enqueue `schedule` for every active tenant (or its `targets`) if its period has
    passed; how many."""
    async with transaction(sessionmaker(engine)) as session:
        now = utcnow()
        await session.execute(
            insert(ScheduledRun)
            .values(name=schedule.name, last_run_at=_NEVER)
            .on_conflict_do_nothing()
        )
        run = (
            await session.execute(
                select(ScheduledRun).where(ScheduledRun.name == schedule.name).with_for_update()
            )
        ).scalar_one()
        if run.last_run_at + dt.timedelta(seconds=schedule.every_seconds) > now:
            return 0
        run.last_run_at = now
        if schedule.targets is not None:
            tenant_ids = list(dict.fromkeys(await schedule.targets(session, now)))
        else:
            tenant_ids = list(
                await session.scalars(
                    select(Tenant.id).where(Tenant.status == TenantStatus.ACTIVE.value)
                )
            )
        for tenant_id in tenant_ids:
            await tenant_scope(session, tenant_id)
            await enqueue(session, schedule.actor_name, tenant_id=tenant_id)
    if tenant_ids:
        log.info("periodic sweep enqueued", schedule=schedule.name, tenants=len(tenant_ids))
    return len(tenant_ids)


async def tick(engine: AsyncEngine) -> int:
    """Fan out every sweep that is due; messages written."""
    registry.load_actor_modules()
    total = 0
    for schedule in schedules():
        try:
            total += await fan_out(engine, schedule)
        except Exception:
            log.exception("periodic sweep failed to fan out", schedule=schedule.name)
    return total


async def run_scheduler(
    engine: AsyncEngine,
    broker: dramatiq.Broker,
    stop: asyncio.Event,
    *,
    queue_prefix: str = "",
    tick_seconds: float = 1.0,
    poll_seconds: float = 1.0,
) -> None:
    """Relay and periodic sweeps until `stop` is set."""
    relay = Relay(engine, broker, queue_prefix=queue_prefix, poll_seconds=poll_seconds)
    relay_task = asyncio.create_task(relay.run(stop), name="closeloop-relay")
    last_prune = _NEVER
    try:
        while not stop.is_set():
            if await tick(engine):
                relay.wake()
            if utcnow() - last_prune >= _PRUNE_EVERY:
                try:
                    await prune(engine, keep_days=RETENTION_DAYS)
                except Exception:
                    log.exception("pruning the queue tables failed")
                last_prune = utcnow()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick_seconds)
    finally:
        stop.set()
        await relay_task
