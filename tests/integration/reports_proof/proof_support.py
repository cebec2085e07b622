"""The proof of the report figures: a hand-built month of cases taken through the real
services at chosen times, the log of what was done to them, and the figures of
docs/reports.md recomputed from that log in plain Python (never from closeloop.reports).

Time: every lifecycle action goes through `CaseActionService.apply(now=...)` (as the SLA
tests do), the SLA sweep runs with a chosen `now`, and the steps of all cases run in
time order, so each clock and escalation sees the world as it was at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import math
import statistics
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.deps import provide_case_actions
from closeloop.cases.lifecycle import Action
from closeloop.cases.models import Case
from closeloop.db import sessionmaker, transaction
from closeloop.identity.principal import Principal
from closeloop.queue import runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from closeloop.sla.sweep import sweep_due
from support import TenantHandle

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
HOLIDAY = dt.date(2026, 11, 11)  # a Wednesday, made a holiday of the tenant's calendar
# The default calendar's working hours (docs/sla.md), Monday to Friday.
WORKING_HOURS = ((dt.time(9, 0), dt.time(12, 0)), (dt.time(13, 30), dt.time(18, 0)))
# China's public holidays around the scenario (none in November 2026), and the
# substituted working Saturday after the National Day week.
PUBLIC_HOLIDAYS = {dt.date(2026, 10, d) for d in range(1, 8)}
EXTRA_WORKING = {dt.date(2026, 10, 10)}
CUSTOMER_VISIBLE = {"request_info", "resolve", "invalidate"}  # and progress marked so
REOPENING = {"reopen"}


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def working_day(day: dt.date) -> bool:
    if day in EXTRA_WORKING:
        return True
    return day.weekday() < 5 and day not in PUBLIC_HOLIDAYS and day != HOLIDAY


def business_seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Working seconds between two instants, by walking the days (plain arithmetic)."""
    if end <= start:
        return 0
    start, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = 0.0
    day = start.date()
    while day <= end.date():
        if working_day(day):
            for opens, closes in WORKING_HOURS:
                a = dt.datetime.combine(day, opens, SHANGHAI)
                b = dt.datetime.combine(day, closes, SHANGHAI)
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return round(total)


def percentile(values: list[float], p: float) -> float | None:
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the log of what was done -----------------------------------------------------------


@dataclasses.dataclass
class Step:
    """One thing done to a case: a lifecycle action by `actor` (a user id) at `at`."""

    action: str
    at: dt.datetime
    actor: uuid.UUID | None
    body: dict[str, Any]


@dataclasses.dataclass
class Made:
    """A case of the scenario as the test made it (what the figures are computed from)."""

    name: str
    id: str
    number: str
    kind: str
    channel: str
    category: str | None
    product: str | None
    received_at: dt.datetime
    steps: list[Step] = dataclasses.field(default_factory=list)
    # Read back from the database after the scenario (set by intake, SLA, follow-ups):
    severity: str = ""
    department: str | None = None
    handler: str | None = None
    escalation_level: int = 0
    is_repeat: bool = False
    merged: bool = False
    status: str = ""
    clocks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    followups: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    made_major_at: dt.datetime | None = None

    # -- facts, from the steps ---------------------------------------------------------

    def _visible(self, step: Step) -> bool:
        if step.action == "progress":
            return step.body.get("visibility") == "customer"
        return step.action in CUSTOMER_VISIBLE

    @property
    def first_response_at(self) -> dt.datetime | None:
        return next((s.at for s in self.steps if self._visible(s)), None)

    @property
    def first_resolve(self) -> Step | None:
        return next((s for s in self.steps if s.action == "resolve"), None)

    @property
    def first_resolved_at(self) -> dt.datetime | None:
        step = self.first_resolve
        return step.at if step else None

    @property
    def closed_at(self) -> dt.datetime | None:
        if self.status not in ("closed", "archived"):
            return None
        closing = [
            s.at for s in self.steps if s.action == "followup" and s.body["outcome"] != "unresolved"
        ]
        return closing[-1] if closing else None

    def waiting(self, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        stretches, began = [], None
        for step in self.steps:
            if step.action == "request_info":
                began = step.at
            elif step.action == "resume" and began is not None:
                stretches.append((began, step.at))
                began = None
        if began is not None:
            stretches.append((began, until))
        return stretches

    def seconds(self, moment: dt.datetime) -> tuple[float, int]:
        """(calendar, business) seconds from registration to `moment`, waiting excluded."""
        calendar = (moment - self.received_at).total_seconds()
        business = business_seconds(self.received_at, moment)
        for a, b in self.waiting(moment):
            a, b = max(a, self.received_at), min(b, moment)
            if b > a:
                calendar -= (b - a).total_seconds()
                business -= business_seconds(a, b)
        return calendar, business

    @property
    def customer_contacts(self) -> int:
        resolved = self.first_resolved_at
        if resolved is None:
            return 0
        return sum(1 for s in self.steps if self._visible(s) and s.at <= resolved)

    @property
    def reopens(self) -> list[dt.datetime]:
        out = []
        for s in self.steps:
            if (
                s.action in REOPENING
                or (s.action == "feedback" and s.body["satisfaction"] == "unsatisfied")
                or (s.action == "followup" and s.body["outcome"] == "unresolved")
            ):
                out.append(s.at)
        return out

    @property
    def reopened_in_window(self) -> bool:
        resolved, reopens = self.first_resolved_at, self.reopens
        return bool(
            resolved and reopens and reopens[0] - resolved <= dt.timedelta(days=REPEAT_DAYS)
        )

    @property
    def answer(self) -> Step | None:
        return next((s for s in self.steps if s.action == "feedback"), None)

    @property
    def resolved_by(self) -> uuid.UUID | None:
        step = self.first_resolve
        return step.actor if step else None

    @property
    def resolution(self) -> dict[str, Any] | None:
        resolves = [s for s in self.steps if s.action == "resolve"]
        return resolves[-1].body if resolves else None

    @property
    def followup_task(self) -> dict[str, Any] | None:
        kept = [t for t in self.followups if t["status"] != "cancelled"]
        return kept[0] if kept else None


REPEAT_DAYS = 30
SCALE = ("satisfied", "basically_satisfied", "unsatisfied")
SATISFIED = {"satisfied", "basically_satisfied"}
TARGETS = (
    "first_response",
    "customer_update",
    "resolution",
    "customer_contact",
    "followup",
    "first_feedback",
    "second_handling",
)


def admin_principal(tenant: TenantHandle) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        roles=frozenset({"admin"}),
        permissions=frozenset(),
        user_id=tenant.admin_id,
    )


def handler_principal(tenant: TenantHandle, user_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant.id, roles=frozenset({"handler"}), permissions=frozenset(), user_id=user_id
    )


async def apply(
    engine: AsyncEngine,
    settings: Settings,
    principal: Principal,
    case_id: str,
    action: str,
    body: dict[str, Any],
    at: dt.datetime,
) -> None:
    chosen = Action(action)
    async with transaction(sessionmaker(engine), principal.tenant_id) as session:
        await provide_case_actions(session, principal, settings).apply(
            uuid.UUID(case_id), chosen, decode_body(chosen, body), now=at
        )
        # The action stamps the case's resolved_at/closed_at with the wall clock; the
        # scenario's cases live in the past, so they get the action's time (as the
        # follow-up tests do), and the follow-up window is computed from it.
        if chosen == Action.RESOLVE:
            await session.execute(
                update(Case).where(Case.id == uuid.UUID(case_id)).values(resolved_at=at)
            )
        if chosen == Action.FOLLOWUP and body.get("outcome") != "unresolved":
            await session.execute(
                update(Case).where(Case.id == uuid.UUID(case_id)).values(closed_at=at)
            )


async def sweep(engine: AsyncEngine, now: dt.datetime) -> None:
    await sweep_due(sessionmaker(engine), now=now)


# --- the worker ----------------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the outbox was not drained in time")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def worker(app_url: str, app_engine: AsyncEngine, settings: Settings) -> AsyncIterator[None]:
    """A Dramatiq worker on the stub broker and the outbox relay, as the deployment runs
    them (the report facts are kept by the worker from the outbox)."""
    runtime.configure(app_url, settings=settings, pool_size=2)
    broker = make_broker(BrokerConfig(min_backoff_ms=10, max_backoff_ms=50))
    running = await asyncio.to_thread(start_worker, broker, threads=2, timeout_ms=100)
    relay = Relay(app_engine, broker, poll_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await asyncio.to_thread(running.stop, 10_000)
        broker.close()
        runtime.reset()


async def drained(engine: AsyncEngine, tenant_id: uuid.UUID, actor: str) -> None:
    """Wait until every outbox message of the tenant for `actor` has been processed."""

    async def done() -> bool:
        async with transaction(sessionmaker(engine), tenant_id) as conn:
            pending = await conn.scalar(
                text(
                    "SELECT count(*) FROM outbox_messages o WHERE o.tenant_id = :t "
                    "AND o.actor_name = :a AND NOT EXISTS (SELECT 1 FROM processed_messages p "
                    "WHERE p.tenant_id = o.tenant_id AND p.id = o.id)"
                ),
                {"t": tenant_id, "a": actor},
            )
        return pending == 0

    await eventually(done)


# --- reading back what intake, SLA and follow-ups stored ----------------------------------


async def read_back(engine: AsyncEngine, tenant_id: uuid.UUID, cases: Iterable[Made]) -> None:
    """As the application role, bound to the tenant (row-level security)."""
    async with transaction(sessionmaker(engine), tenant_id) as conn:
        for made in cases:
            row = (
                await conn.execute(
                    text(
                        "SELECT c.severity_code, c.lead_department_id, c.handler_id, "
                        "c.escalation_level, c.is_repeat, c.merged_into_id, c.status "
                        "FROM cases c WHERE c.tenant_id = :t AND c.id = :id"
                    ),
                    {"t": tenant_id, "id": uuid.UUID(made.id)},
                )
            ).one()
            made.severity = row[0]
            made.department = str(row[1]) if row[1] else None
            made.handler = str(row[2]) if row[2] else None
            made.escalation_level, made.is_repeat = row[3], row[4]
            made.merged, made.status = row[5] is not None, row[6]
            made.clocks = [
                dict(r._mapping)
                for r in await conn.execute(
                    text(
                        "SELECT target, cycle, state, due_at, stopped_at, breached_at "
                        "FROM sla_clocks WHERE tenant_id = :t AND case_id = :id"
                    ),
                    {"t": tenant_id, "id": uuid.UUID(made.id)},
                )
            ]
            made.followups = [
                dict(r._mapping)
                for r in await conn.execute(
                    text(
                        "SELECT status, due_by, done_at, outcome, created_at FROM followup_tasks "
                        "WHERE tenant_id = :t AND case_id = :id ORDER BY created_at"
                    ),
                    {"t": tenant_id, "id": uuid.UUID(made.id)},
                )
            ]


# --- the figures, recomputed ----------------------------------------------------------------


def _in(moment: dt.datetime | None, start: dt.date, end: dt.date) -> bool:
    return moment is not None and start <= day_of(moment) <= end


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _times(values: list[tuple[float, int]]) -> dict[str, Any]:
    calendar = [float(c) for c, _ in values]
    business = [float(b) for _, b in values]
    return {
        "count": len(values),
        "value": statistics.fmean(calendar) if calendar else None,
        "figures": {
            "mean_calendar_seconds": statistics.fmean(calendar) if calendar else None,
            "median_calendar_seconds": percentile(calendar, 0.5),
            "p90_calendar_seconds": percentile(calendar, 0.9),
            "mean_business_seconds": statistics.fmean(business) if business else None,
            "median_business_seconds": percentile(business, 0.5),
            "p90_business_seconds": percentile(business, 0.9),
        },
    }


def clock_verdict(clock: dict[str, Any], now: dt.datetime) -> str | None:
    """met, breached, or None (undecided), by the definition of on_time_rate: breached
    with a breach time, in the state `breached`, stopped after its due time or still
    running past it; met when stopped without that; else (running, paused) undecided."""
    stopped, due = clock["stopped_at"], clock["due_at"]
    if (
        clock["breached_at"] is not None
        or clock["state"] == "breached"
        or (stopped is not None and stopped > due)
        or (clock["state"] == "running" and due < now)
    ):
        return "breached"
    if stopped is not None:
        return "met"
    return None


def expected(
    cases: list[Made], start: dt.date, end: dt.date, *, orders: int | None, now: dt.datetime
) -> dict[str, dict[str, Any]]:
    """Every metric of docs/reports.md over the days start..end, from the log."""
    counted = [c for c in cases if not c.merged]
    received = [c for c in counted if _in(c.received_at, start, end)]
    resolved = [c for c in counted if _in(c.first_resolved_at, start, end)]
    out: dict[str, dict[str, Any]] = {}

    def tally(key: Callable[[Made], str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in received:
            counts[key(c)] = counts.get(key(c), 0) + 1
        return counts

    out["volume"] = {
        "value": len(received),
        "breakdowns": {
            "kind": tally(lambda c: f"kind:{c.kind}"),
            "channel": tally(lambda c: f"channel:{c.channel}"),
            "category": tally(lambda c: f"category:{c.category or 'none'}"),
            "severity": tally(lambda c: f"severity:{c.severity}"),
            "department": tally(lambda c: f"department:{c.department or 'none'}"),
        },
    }
    out["resolved"] = {"value": len(resolved)}
    complaints = sum(1 for c in received if c.kind == "complaint")
    out["complaint_rate"] = {
        "value": complaints * 10_000 / orders if orders else None,
        "numerator": complaints,
        "denominator": orders,
    }
    responded = [c for c in counted if _in(c.first_response_at, start, end)]
    out["first_response_time"] = _times([c.seconds(c.first_response_at) for c in responded])  # type: ignore[arg-type]
    resolved_valid = [c for c in resolved]
    out["resolution_time"] = _times([c.seconds(c.first_resolved_at) for c in resolved_valid])  # type: ignore[arg-type]
    closed = [c for c in counted if _in(c.closed_at, start, end)]
    out["close_time"] = _times([c.seconds(c.closed_at) for c in closed])  # type: ignore[arg-type]

    verdicts: dict[str, dict[str, int]] = {}
    for c in counted:
        for clock in c.clocks:
            if clock["target"] not in TARGETS or not _in(clock["due_at"], start, end):
                continue
            verdict = clock_verdict(clock, now)
            if verdict is None:
                continue
            row = verdicts.setdefault(clock["target"], {"met": 0, "breached": 0})
            row[verdict] += 1
    met = sum(v["met"] for v in verdicts.values())
    decided = met + sum(v["breached"] for v in verdicts.values())
    out["on_time_rate"] = {
        "value": _rate(met, decided),
        "numerator": met,
        "denominator": decided,
        "targets": verdicts,
    }
    fcr = [c for c in resolved if not c.reopens and c.customer_contacts <= 1]
    out["fcr_rate"] = {
        "value": _rate(len(fcr), len(resolved)),
        "numerator": len(fcr),
        "denominator": len(resolved),
    }
    reopened = [c for c in resolved if c.reopened_in_window]
    out["reopen_rate"] = {
        "value": _rate(len(reopened), len(resolved)),
        "numerator": len(reopened),
        "denominator": len(resolved),
    }
    repeats = [c for c in received if c.is_repeat]
    out["repeat_rate"] = {
        "value": _rate(len(repeats), len(received)),
        "numerator": len(repeats),
        "denominator": len(received),
    }
    escalated = [c for c in received if c.escalation_level >= 1]
    levels: dict[str, int] = {}
    for c in escalated:
        levels[f"level:{c.escalation_level}"] = levels.get(f"level:{c.escalation_level}", 0) + 1
    out["escalations"] = {"value": len(escalated), "levels": levels}
    out["made_major"] = {"value": sum(1 for c in counted if _in(c.made_major_at, start, end))}

    answers = [c for c in counted if c.answer is not None and _in(c.answer.at, start, end)]
    codes = [c.answer.body["satisfaction"] for c in answers]  # type: ignore[union-attr]
    answered_resolved = [c for c in resolved if c.answer is not None]
    out["satisfaction"] = {
        "value": _rate(codes.count(SCALE[0]), len(codes)),
        "count": len(codes),
        "figures": {
            "satisfied_share": _rate(sum(1 for x in codes if x in SATISFIED), len(codes)),
            "response_rate": _rate(len(answered_resolved), len(resolved)),
            "resolved": len(resolved),
            "answered": len(answered_resolved),
        },
        "answers": {f"satisfaction:{code}": codes.count(code) for code in SCALE},
    }

    tasks = [(c, c.followup_task) for c in counted if c.followup_task is not None]
    due = [(c, t) for c, t in tasks if _in(t["due_by"], start, end)]  # type: ignore[index]
    on_time = [x for x in due if x[1]["done_at"] is not None and x[1]["done_at"] <= x[1]["due_by"]]  # type: ignore[index]
    late = [x for x in due if x[1]["done_at"] is not None and x[1]["done_at"] > x[1]["due_by"]]  # type: ignore[index]
    open_overdue = [x for x in due if x[1]["done_at"] is None and x[1]["due_by"] < now]  # type: ignore[index]
    done = [(c, t) for c, t in tasks if _in(t["done_at"], start, end)]  # type: ignore[index]
    outcomes = {
        f"outcome:{o}": sum(1 for _, t in done if t["outcome"] == o)  # type: ignore[index]
        for o in ("resolved_satisfied", "partially_resolved", "unresolved")
    }
    unresolved = outcomes["outcome:unresolved"]
    out["followup"] = {
        "value": _rate(len(on_time), len(due)),
        "numerator": len(on_time),
        "denominator": len(due),
        "figures": {
            "done": len(on_time) + len(late),
            "done_late": len(late),
            "open_overdue": len(open_overdue),
            "unresolved": unresolved,
            "unresolved_rate": _rate(unresolved, len(done)),
        },
        "outcomes": outcomes,
    }

    parties: dict[str, int] = {}
    internal_departments: dict[str, int] = {}
    third_parties: dict[str, int] = {}
    for c in resolved:
        resolution = c.resolution or {}
        party = resolution.get("responsible_party")
        if not party:
            continue
        parties[f"party:{party}"] = parties.get(f"party:{party}", 0) + 1
        if party == "internal":
            key = f"department:{c.department or 'none'}"
            internal_departments[key] = internal_departments.get(key, 0) + 1
        if party == "third_party":
            key = f"third_party:{resolution['third_party']}"
            third_parties[key] = third_parties.get(key, 0) + 1
    out["responsibility"] = {
        "value": sum(parties.values()),
        "party": parties,
        "department": internal_departments,
        "third_party": third_parties,
    }

    ranking: dict[str, dict[str, Any]] = {}
    for c in resolved:
        if c.resolved_by is None:
            continue
        row = ranking.setdefault(
            f"handler:{c.resolved_by}", {"count": 0, "met": 0, "decided": 0, "answers": 0, "sat": 0}
        )
        row["count"] += 1
        # The handler's on-time rate (docs/reports.md): the share of the cases they
        # resolved whose resolution target never breached, i.e. no resolution clock
        # of any cycle has a breach time or the state `breached`.
        breached = any(
            k["target"] == "resolution"
            and (k["breached_at"] is not None or k["state"] == "breached")
            for k in c.clocks
        )
        row["decided"] += 1
        row["met"] += not breached
    for c in answers:
        if c.resolved_by is None:
            continue
        row = ranking.setdefault(
            f"handler:{c.resolved_by}", {"count": 0, "met": 0, "decided": 0, "answers": 0, "sat": 0}
        )
        row["answers"] += 1
        row["sat"] += c.answer.body["satisfaction"] in SATISFIED  # type: ignore[union-attr]
    out["handler_ranking"] = {"value": len(ranking), "rows": ranking}

    pareto = tally(lambda c: f"category:{c.category or 'none'}")
    products = tally(lambda c: f"product:{c.product or 'none'}")
    out["pareto"] = {"value": len(received), "rows": pareto}
    out["pareto_products"] = {"value": len(received), "rows": products}
    return out
