"""The metrics with their own shape: complaint rate, on-time rate, escalations,
satisfaction, follow-up, responsibility, handler ranking and the Pareto charts
(docs/reports.md). Each computes its figure with `Engine` and says which cases it
counted (`population`), like `definitions.Plain`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select

from closeloop.config.models import TenantProfile
from closeloop.errors import UnprocessableEntity
from closeloop.reports.batch import Grouped, Request
from closeloop.reports.definitions import (
    PLAIN,
    Definition,
    Plain,
    Population,
    Unit,
    common_key,
    fields_of,
)
from closeloop.reports.engine import Engine, count_of, first, rate_of, ratio
from closeloop.reports.models import CaseFacts as F
from closeloop.reports.models import OrderVolume
from closeloop.reports.schemas import (
    DIMENSIONS,
    TIME_BUCKETS,
    Breakdown,
    Metric,
    ReportQuery,
    Row,
)
from closeloop.sla.models import SlaClock as C

__all__ = ["DEFINITIONS", "HANDLER_MIN_SAMPLE", "SLA_TARGETS"]

HANDLER_MIN_SAMPLE = 5
SLA_TARGETS = (
    "first_response",
    "customer_update",
    "resolution",
    "customer_contact",
    "followup",
    "first_feedback",
    "second_handling",
)
FOLLOWUP_OUTCOMES = ("resolved_satisfied", "partially_resolved", "unresolved")
PARTIES = ("internal", "customer", "third_party")


def _count_row(key: str, label: str, figures: Any, total: int | None = None) -> Row:
    """A breakdown row counting `figures["count"]` cases (and its share of `total`)."""
    n = int((figures or {}).get("count") or 0)
    return Row(key=key, label=label, value=n, count=n, share=ratio(n, total) if total else None)


def _split(key: str | None) -> tuple[str, str]:
    kind, _, value = (key or "").partition(":")
    return kind, value


def _ask_dimension(
    engine: Engine,
    query: ReportQuery,
    where: Any,
    agg: Any,
    *,
    dated: Any,
    source: Any = F,
) -> list[Request]:
    """The request of the `group_by` breakdown or trend, as `Plain` asks it (none for
    no `group_by`); `_add_dimension` puts its answer in the metric."""
    if query.group_by in DIMENSIONS:
        return [engine.ask_breakdown(query, query.group_by, dated, where, agg, source=source)]
    if query.group_by in TIME_BUCKETS:
        return [engine.ask_trend(query, dated, where, agg, source=source)]
    return []


def _add_dimension(
    engine: Engine, query: ReportQuery, metric: Metric, found: list[Grouped], unit: Unit
) -> None:
    if not found:
        return
    if query.group_by in DIMENSIONS:
        assert query.group_by is not None
        metric.breakdowns.append(
            engine.breakdown_rows(query.group_by, found[0], lambda f: fields_of(unit, f))
        )
    else:
        metric.trend = engine.trend_points(query, found[0], lambda f: fields_of(unit, f))


@dataclasses.dataclass(frozen=True, slots=True)
class ComplaintRate(Definition):
    name: str = "complaint_rate"
    unit: Any = "per_10000"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        where = [F.kind == "complaint"]
        asked = [engine.ask(query, F.received_at, where, count_of())]
        trend = detail and query.group_by in TIME_BUCKETS
        if trend:
            asked.append(engine.ask_trend(query, F.received_at, where, count_of()))
        found = await engine.run(*asked)
        complaints = int(first(found[0]).get("count") or 0)
        volumes = await engine.lookup(
            "order_volumes", select(OrderVolume.date_from, OrderVolume.date_to, OrderVolume.orders)
        )

        def orders(first: dt.date, last: dt.date) -> int | None:
            inside = [v.orders for v in volumes if v.date_from >= first and v.date_to <= last]
            return sum(inside) if inside else None

        def rate(n: int, total: int | None) -> float | None:
            return n * 10_000 / total if total else None

        total = orders(query.date_from, query.date_to)
        metric = Metric(
            name=self.name,
            unit="per_10000",
            value=rate(complaints, total),
            numerator=complaints,
            denominator=total,
            count=complaints,
            note=None if total else "no_order_volume",
        )
        if trend:
            points = engine.trend_points(
                query, found[1], lambda f: {"count": int(f.get("count") or 0)}
            )
            for point in points:
                point.denominator = orders(point.start, point.end)
                point.numerator = point.count
                point.value = rate(point.count or 0, point.denominator)
            metric.trend = points
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        population = Population(F.received_at, [F.kind == "complaint"])
        return population if key is None else common_key(engine, population, key)


def _clock_states(
    now: dt.datetime,
) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """Whether a clock is met, breached, decided (met or breached)."""
    breached = or_(
        C.breached_at.is_not(None),
        C.state == "breached",
        and_(C.stopped_at.is_not(None), C.stopped_at > C.due_at),
        and_(C.state == "running", C.due_at < now),
    )
    met = and_(C.stopped_at.is_not(None), not_(breached))
    # met or breached, written the short way (none of these conditions is null)
    decided = or_(C.stopped_at.is_not(None), breached)
    return met, breached, decided


_CLOCKS = F.__table__.join(C.__table__, and_(C.tenant_id == F.tenant_id, C.case_id == F.id))


def _clock_cases(engine: Engine) -> list[ColumnElement[bool]]:
    """The clocks of the cases counted at all, without joining `case_facts` row by row:
    the whole tenant leaves out the clocks of the few merged cases (a hashed `NOT IN`),
    a narrowed scope keeps the clocks of its cases (a semi-join). Same clocks as
    `_CLOCKS` with `scope.cases()`; every clock's case has facts."""
    scope = engine.scope
    if not scope.narrowed():
        return [C.case_id.not_in(select(F.id).where(F.merged))]  # ix_case_facts_merged
    return [C.case_id.in_(select(F.id).where(*scope.cases()))]


@dataclasses.dataclass(frozen=True, slots=True)
class OnTimeRate(Definition):
    name: str = "on_time_rate"
    unit: Any = "rate"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        met, _, decided = engine.once("clock_states", lambda: _clock_states(engine.now))
        where = [decided, C.target.in_(SLA_TARGETS)]
        agg = rate_of(met)
        clocks: dict[str, Any] = {"source": C.__table__, "cases": _clock_cases(engine)}
        # The figure is the sum of the targets' rows (`where` keeps only SLA_TARGETS),
        # so this period and the previous one are one statement grouped by target.
        asked = [engine.ask(query, C.due_at, where, agg, C.target, **clocks)]
        if detail and query.group_by in TIME_BUCKETS:
            asked.append(engine.ask_trend(query, C.due_at, where, agg, **clocks))
        elif detail:
            asked += _ask_dimension(engine, query, where, agg, dated=C.due_at, source=_CLOCKS)
        answers = await engine.run(*asked)
        found = dict(answers[0])
        sums = {
            name: sum(int(figures.get(name) or 0) for figures in found.values()) for name in agg
        }
        metric = Metric(name=self.name, unit="rate", **fields_of("rate", dict(sums)))
        if not detail:
            return metric
        rows = []
        for target in SLA_TARGETS:
            fields = fields_of("rate", found.get(target, {}))
            fields["figures"] = {"breached": fields["denominator"] - fields["numerator"]}
            rows.append(Row(key=f"on_time_rate:{target}", label=target, **fields))
        metric.breakdowns.append(Breakdown(dimension="target", rows=rows))
        _add_dimension(engine, query, metric, answers[1:], "rate")
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        met, breached, decided = _clock_states(engine.now)
        where: list[ColumnElement[bool]] = [C.target.in_(SLA_TARGETS)]
        parts = (key or "").split(":")
        state = None
        if parts[0] == self.name:
            if len(parts) == 2 and parts[1] in ("met", "breached"):
                state = parts[1]
            elif len(parts) in (2, 3) and parts[1] in SLA_TARGETS:
                where.append(C.target == parts[1])
                if len(parts) == 3:
                    if parts[2] not in ("met", "breached"):
                        raise UnprocessableEntity(f"this figure has no key {key!r}", field="key")
                    state = parts[2]
            else:
                raise UnprocessableEntity(f"this figure has no key {key!r}", field="key")
            key = None
        where.append(met if state == "met" else breached if state == "breached" else decided)
        population = Population(C.due_at, where, source=_CLOCKS)
        return population if key is None else common_key(engine, population, key)


@dataclasses.dataclass(frozen=True, slots=True)
class Escalations(Definition):
    name: str = "escalations"
    unit: Any = "count"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        where = [F.escalation_level >= 1]
        asked = [engine.ask(query, F.received_at, where, count_of())]
        if detail:
            asked.append(engine.ask(query, F.received_at, where, count_of(), F.escalation_level))
            asked += _ask_dimension(engine, query, where, count_of(), dated=F.received_at)
        answers = await engine.run(*asked)
        metric = Metric(name=self.name, unit="count", **fields_of("count", first(answers[0])))
        if not detail:
            return metric
        rows = [
            _count_row(f"level:{level}", str(level), f)
            for level, f in sorted(answers[1], key=lambda item: item[0])
        ]
        metric.breakdowns.append(Breakdown(dimension="level", rows=rows))
        _add_dimension(engine, query, metric, answers[2:], "count")
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        where: list[ColumnElement[bool]] = [F.escalation_level >= 1]
        kind, value = _split(key)
        if kind == "level":
            if not value.isdigit():
                raise UnprocessableEntity("level must be a number", field="key")
            return Population(F.received_at, [F.escalation_level == int(value)])
        population = Population(F.received_at, where)
        return population if key is None else common_key(engine, population, key)


async def _scale(engine: Engine) -> list[dict[str, Any]]:
    from closeloop.cases.actions import DEFAULT_SATISFACTION_SCALE

    found = await engine.lookup(
        "satisfaction_scale", select(TenantProfile.satisfaction_scale).limit(1)
    )
    scale = found[0][0] if found else None
    return list(scale) if scale else DEFAULT_SATISFACTION_SCALE


@dataclasses.dataclass(frozen=True, slots=True)
class Satisfaction(Definition):
    name: str = "satisfaction"
    unit: Any = "rate"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        scale = await _scale(engine)
        top = str(scale[0]["code"]) if scale else ""
        where = [F.satisfaction.is_not(None)]
        agg = {
            **rate_of(F.satisfaction == top),
            "satisfied": func.count().filter(F.satisfied.is_(True)),
        }
        asked = [
            engine.ask(query, F.satisfaction_at, where, agg),
            engine.ask(query, F.first_resolved_at, [], rate_of(F.satisfaction.is_not(None))),
        ]
        if detail:
            asked.append(engine.ask(query, F.satisfaction_at, where, count_of(), F.satisfaction))
            if query.group_by == "handler":
                asked.append(engine.ask(query, F.satisfaction_at, where, agg, F.resolved_by))
            else:
                asked += _ask_dimension(engine, query, where, agg, dated=F.satisfaction_at)
        found = await engine.run(*asked)
        total, resolved = first(found[0]), first(found[1])
        answers = int(total.get("count") or 0)
        metric = Metric(
            name=self.name,
            unit="rate",
            value=ratio(int(total.get("numerator") or 0), answers),
            numerator=int(total.get("numerator") or 0),
            denominator=answers,
            count=answers,
            figures={
                "satisfied_share": ratio(int(total.get("satisfied") or 0), answers),
                "response_rate": ratio(
                    int(resolved.get("numerator") or 0), int(resolved.get("count") or 0)
                ),
                "resolved": int(resolved.get("count") or 0),
                "answered": int(resolved.get("numerator") or 0),
            },
        )
        if not detail:
            return metric
        by_answer = dict(found[2])
        names = {str(level["code"]): level for level in scale}
        rows = []
        for code in [*names, *sorted(set(by_answer) - set(names))]:
            level = names.get(code, {})
            label = level.get("name_zh" if engine.labels.zh else "name_en") or code
            rows.append(
                _count_row(f"satisfaction:{code}", str(label), by_answer.get(code), answers)
            )
        metric.breakdowns.append(Breakdown(dimension="answer", rows=rows))
        if query.group_by == "handler":
            rows = [
                Row(
                    key=f"handler:{h if h is not None else 'none'}",
                    label=engine.labels.of("handler", h),
                    **fields_of("rate", f),
                )
                for h, f in found[3]
            ]
            rows.sort(key=lambda r: (-(r.count or 0), r.key))
            metric.breakdowns.append(Breakdown(dimension="handler", rows=rows))
        else:
            _add_dimension(engine, query, metric, found[3:], "rate")
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        where: list[ColumnElement[bool]] = [F.satisfaction.is_not(None)]
        kind, value = _split(key)
        if kind == "satisfaction":
            return Population(F.satisfaction_at, [F.satisfaction == value])
        if kind == "handler":
            return Population(F.satisfaction_at, [*where, _resolved_by(value)])
        population = Population(F.satisfaction_at, where)
        return population if key is None else common_key(engine, population, key)


def _resolved_by(value: str) -> ColumnElement[bool]:
    from closeloop.reports.scope import dimension_value, equals_or_null

    return equals_or_null(F.resolved_by, dimension_value("handler", value))


@dataclasses.dataclass(frozen=True, slots=True)
class Followup(Definition):
    name: str = "followup"
    unit: Any = "rate"

    def _states(self, now: dt.datetime) -> dict[str, ColumnElement[bool]]:
        return {
            "on_time": and_(
                F.followup_done_at.is_not(None), F.followup_done_at <= F.followup_due_by
            ),
            "late": and_(F.followup_done_at.is_not(None), F.followup_done_at > F.followup_due_by),
            "open": and_(F.followup_done_at.is_(None), F.followup_due_by < now),
        }

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        states = self._states(engine.now)
        decided = or_(*states.values())
        agg = {
            **rate_of(states["on_time"]),
            "late": func.count().filter(states["late"]),
            "open": func.count().filter(states["open"]),
        }
        asked = [
            engine.ask(query, F.followup_due_by, [decided], agg),
            engine.ask(query, F.followup_done_at, [], rate_of(F.followup_outcome == "unresolved")),
        ]
        if detail:
            asked.append(engine.ask(query, F.followup_done_at, [], count_of(), F.followup_outcome))
            asked += _ask_dimension(engine, query, [decided], agg, dated=F.followup_due_by)
        found = await engine.run(*asked)
        due, done = first(found[0]), first(found[1])
        metric = Metric(
            name=self.name,
            unit="rate",
            **fields_of("rate", due),
        )
        metric.figures = {
            "done": int(done.get("count") or 0),
            "done_late": int(due.get("late") or 0),
            "open_overdue": int(due.get("open") or 0),
            "unresolved": int(done.get("numerator") or 0),
            "unresolved_rate": ratio(int(done.get("numerator") or 0), int(done.get("count") or 0)),
        }
        if not detail:
            return metric
        by_outcome = dict(found[2])
        total = int(done.get("count") or 0)
        rows = []
        for outcome in FOLLOWUP_OUTCOMES:
            rows.append(_count_row(f"outcome:{outcome}", outcome, by_outcome.get(outcome), total))
        metric.breakdowns.append(Breakdown(dimension="outcome", rows=rows))
        _add_dimension(engine, query, metric, found[3:], "rate")
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        states = self._states(engine.now)
        kind, value = _split(key)
        if kind == "followup":
            if value not in states:
                raise UnprocessableEntity(f"this figure has no key {key!r}", field="key")
            return Population(F.followup_due_by, [states[value]])
        if kind == "outcome":
            return Population(F.followup_done_at, [F.followup_outcome == value])
        population = Population(F.followup_due_by, [or_(*states.values())])
        return population if key is None else common_key(engine, population, key)


@dataclasses.dataclass(frozen=True, slots=True)
class Responsibility(Definition):
    name: str = "responsibility"
    unit: Any = "count"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        where = [F.responsible_party.is_not(None)]
        resolved = F.first_resolved_at
        asked = [engine.ask(query, resolved, where, count_of())]
        if detail:
            internal, third_party = (
                F.responsible_party == "internal",
                F.responsible_party == "third_party",
            )
            asked += [
                engine.ask(query, resolved, where, count_of(), F.responsible_party),
                engine.ask_breakdown(query, "department", resolved, [internal], count_of()),
                engine.ask(query, resolved, [third_party], count_of(), F.third_party),
            ]
        found = await engine.run(*asked)
        metric = Metric(name=self.name, unit="count", **fields_of("count", first(found[0])))
        if not detail:
            return metric
        all_ = metric.count or 0
        by_party = dict(found[1])
        rows = []
        for party in PARTIES:
            rows.append(_count_row(f"party:{party}", party, by_party.get(party), all_))
        metric.breakdowns.append(Breakdown(dimension="party", rows=rows))
        internal_n = int((by_party.get("internal") or {}).get("count") or 0)
        departments = engine.breakdown_rows("department", found[2], lambda f: fields_of("count", f))
        for row in departments.rows:
            row.share = ratio(row.count, internal_n)
        metric.breakdowns.append(departments)
        rows = [
            _count_row(f"third_party:{name or 'none'}", name or "—", f, all_)
            for name, f in sorted(
                found[3], key=lambda item: (-(item[1]["count"] or 0), str(item[0]))
            )
        ]
        metric.breakdowns.append(Breakdown(dimension="third_party", rows=rows))
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        kind, value = _split(key)
        if kind == "party":
            return Population(F.first_resolved_at, [F.responsible_party == value])
        if kind == "third_party":
            return Population(
                F.first_resolved_at,
                [F.responsible_party == "third_party", F.third_party == value]
                if value != "none"
                else [F.responsible_party == "third_party", F.third_party.is_(None)],
            )
        if kind == "department":
            population = Population(F.first_resolved_at, [F.responsible_party == "internal"])
            return common_key(engine, population, key or "")
        population = Population(F.first_resolved_at, [F.responsible_party.is_not(None)])
        return population if key is None else common_key(engine, population, key)


@dataclasses.dataclass(frozen=True, slots=True)
class HandlerRanking(Definition):
    name: str = "handler_ranking"
    unit: Any = "count"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        where = [F.resolved_by.is_not(None)]
        on_time = func.array_position(F.breached_targets, "resolution").is_(None)
        asked = [engine.ask(query, F.first_resolved_at, where, rate_of(on_time), F.resolved_by)]
        if detail:  # the answers show in the rows only
            given = [*where, F.satisfaction.is_not(None)]
            satisfied = rate_of(F.satisfied.is_(True))
            asked.append(engine.ask(query, F.satisfaction_at, given, satisfied, F.resolved_by))
        found = await engine.run(*asked)
        resolved = dict(found[0])
        answers = dict(found[1]) if detail else {}
        rows = []
        for handler, figures in resolved.items():
            n = int(figures.get("count") or 0)
            answered = answers.get(handler, {})
            rows.append(
                Row(
                    key=f"handler:{handler}",
                    label=engine.labels.of("handler", handler),
                    value=n,
                    count=n,
                    figures={
                        "resolved": n,
                        "on_time_rate": ratio(int(figures.get("numerator") or 0), n),
                        "satisfaction": ratio(
                            int(answered.get("numerator") or 0), int(answered.get("count") or 0)
                        ),
                        "answers": int(answered.get("count") or 0),
                        "ranked": 1 if n >= HANDLER_MIN_SAMPLE else 0,
                    },
                )
            )
        rows.sort(
            key=lambda r: (
                -(r.figures["ranked"] or 0),
                -(r.count or 0),
                -(r.figures["on_time_rate"] or 0),
                r.key,
            )
        )
        metric = Metric(
            name=self.name,
            unit="count",
            value=len(rows),
            count=sum(r.count or 0 for r in rows),
            figures={"min_sample": HANDLER_MIN_SAMPLE},
        )
        if detail:
            metric.breakdowns.append(Breakdown(dimension="handler", rows=rows))
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        kind, value = _split(key)
        if kind == "handler":
            return Population(F.first_resolved_at, [_resolved_by(value)])
        population = Population(F.first_resolved_at, [F.resolved_by.is_not(None)])
        return population if key is None else common_key(engine, population, key)


@dataclasses.dataclass(frozen=True, slots=True)
class Pareto(Definition):
    name: str
    column: Any
    prefix: str
    unit: Any = "count"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        asked = [engine.ask(query, F.received_at, [], count_of())]
        if detail:
            asked.append(engine.ask(query, F.received_at, [], count_of(), self.column))
        answers = await engine.run(*asked)
        metric = Metric(name=self.name, unit="count", **fields_of("count", first(answers[0])))
        if not detail:
            return metric
        found = answers[1]
        found.sort(key=lambda item: (-(item[1]["count"] or 0), str(item[0])))
        rows, running, all_ = [], 0, metric.count or 0
        for value, figures in found:
            n = int(figures["count"] or 0)
            running += n
            label = (
                engine.labels.of("category", value) if self.prefix == "category" else (value or "—")
            )
            rows.append(
                Row(
                    key=f"{self.prefix}:{value if value is not None else 'none'}",
                    label=label,
                    value=n,
                    count=n,
                    share=ratio(n, all_),
                    cumulative_share=ratio(running, all_),
                )
            )
        metric.breakdowns.append(Breakdown(dimension=self.prefix, rows=rows))
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        kind, value = _split(key)
        if kind == self.prefix:
            condition = self.column.is_(None) if value == "none" else self.column == value
            return Population(F.received_at, [condition])
        population = Population(F.received_at, [])
        return (
            population if key is None else common_key(engine, population, key, category_tree=False)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Resolved(Definition):
    """Cases first resolved, also broken down by the resolution's solution type."""

    name: str = "resolved"
    unit: Any = "count"

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        asked = _RESOLVED.ask(engine, query, detail)
        if detail:
            asked.append(engine.ask(query, F.first_resolved_at, [], count_of(), F.solution_type))
        answers = await engine.run(*asked)
        metric = _RESOLVED.build(engine, query, detail, answers[: len(answers) - detail])
        if detail:
            found = answers[-1]
            found.sort(key=lambda item: (-(item[1]["count"] or 0), str(item[0])))
            rows = [
                _count_row(f"solution:{value or 'none'}", value or "—", f, metric.count)
                for value, f in found
            ]
            metric.breakdowns.insert(0, Breakdown(dimension="solution", rows=rows))
        return metric

    def population(self, engine: Engine, key: str | None) -> Population:
        kind, value = _split(key)
        if kind == "solution":
            condition = F.solution_type.is_(None) if value == "none" else F.solution_type == value
            return Population(F.first_resolved_at, [condition])
        return _RESOLVED.population(engine, key)


_RESOLVED = Plain("resolved", "count", F.first_resolved_at)

_BY_NAME: dict[str, Definition] = {d.name: d for d in PLAIN}
_BY_NAME.update(
    {
        "resolved": Resolved(),
        "complaint_rate": ComplaintRate(),
        "on_time_rate": OnTimeRate(),
        "escalations": Escalations(),
        "satisfaction": Satisfaction(),
        "followup": Followup(),
        "responsibility": Responsibility(),
        "handler_ranking": HandlerRanking(),
        "pareto": Pareto("pareto", F.category_code, "category"),
        "pareto_products": Pareto("pareto_products", F.product, "product"),
    }
)


def _ordered() -> dict[str, Definition]:
    from closeloop.reports.schemas import METRICS

    missing = set(METRICS) - set(_BY_NAME)
    assert not missing, f"metrics without a definition: {missing}"
    return {name: _BY_NAME[name] for name in METRICS}


DEFINITIONS: dict[str, Definition] = _ordered()
