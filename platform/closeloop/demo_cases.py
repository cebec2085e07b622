"""Cases for the demo tenants: a living queue in every status, made through the services.

Each case is registered by the tenant's agent with `IntakeService.register` (received
some hours or days ago) and taken through the lifecycle with `CaseActionService.apply`
by the users the rules ask for (the supervisor assigns, the handler starts and
resolves, the follow-up user follows up), each step dated between its reception and
now. So every number, SLA clock, timeline entry, notification and plugin finding is
what the same work through the API would have made. A few cases are left open long
past their due time: the breached ones.

Seeding is idempotent: a tenant that has cases already gets none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases import action_schemas as body
from closeloop.cases.actions import DEFAULT_SATISFACTION_SCALE
from closeloop.cases.deps import provide_case_actions, provide_case_intake
from closeloop.cases.lifecycle import Action
from closeloop.cases.models import Case
from closeloop.cases.schemas import CaseCreate
from closeloop.config import current
from closeloop.config.models import Category, Department
from closeloop.config.service import CategoryService, DepartmentService
from closeloop.customers.schemas import CustomerInput
from closeloop.db import utcnow
from closeloop.demo_texts import DemoText, fake_person
from closeloop.errors import ApiError
from closeloop.identity.models import Role, User
from closeloop.identity.principal import Principal
from closeloop.logs import get_logger
from closeloop.settings import Settings

__all__ = ["RECIPES", "DemoCast", "seed_cases"]

log = get_logger(__name__)

A = Action
Step = tuple[Action, str]  # the action and who takes it: agent, supervisor, handler, followup
_TO_HANDLER: tuple[Step, ...] = (
    (A.VERIFY, "agent"),
    (A.ASSIGN, "supervisor"),
    (A.START, "handler"),
)
_WORKED = (*_TO_HANDLER, (A.PROGRESS, "handler"))  # a customer-visible progress note
_RESOLVED = (*_TO_HANDLER, (A.RESOLVE, "handler"))
_SATISFIED = (*_RESOLVED, (A.FEEDBACK, "agent"))
_FOLLOWED_UP = (*_SATISFIED, (A.SCHEDULE_FOLLOWUP, "agent"), (A.FOLLOWUP, "followup"))


@dataclasses.dataclass(frozen=True, slots=True)
class Recipe:
    """`count` cases reaching `status` by `steps`, received `hours` (min, max) ago."""

    status: str
    count: int
    steps: tuple[Step, ...]
    hours: tuple[float, float]
    unsatisfied: bool = False
    duplicate: bool = False  # the same complaint again, merged into the open case


RECIPES = (
    Recipe("registered", 6, (), (0.1, 2.0)),
    Recipe("verified", 2, ((A.VERIFY, "agent"),), (1, 6)),
    Recipe("waiting_customer", 3, ((A.REQUEST_INFO, "agent"),), (2, 20)),
    Recipe("assigned", 5, _TO_HANDLER[:2], (2, 20)),
    Recipe("in_progress", 5, _WORKED, (4, 40)),
    Recipe("resolved", 3, _RESOLVED, (24, 96)),
    Recipe("feedback_received", 2, _SATISFIED, (48, 120)),
    Recipe("followup_scheduled", 2, (*_SATISFIED, (A.SCHEDULE_FOLLOWUP, "agent")), (48, 120)),
    Recipe("closed", 3, _FOLLOWED_UP, (120, 300)),
    Recipe("archived", 2, (*_FOLLOWED_UP, (A.ARCHIVE, "supervisor")), (300, 600)),
    Recipe("closed_invalid", 2, ((A.INVALIDATE, "agent"),), (24, 72)),
    Recipe("reopened", 3, (*_RESOLVED, (A.FEEDBACK, "agent")), (48, 150), unsatisfied=True),
    # Open long past every due time: the breached ones.
    Recipe("breached", 4, _TO_HANDLER, (240, 400)),
    Recipe("merged", 2, ((A.VERIFY, "agent"), (A.MERGE, "supervisor")), (0.5, 1), duplicate=True),
)
# Cases of these recipes stay open: a duplicate is merged into one of them.
_OPEN = frozenset({"assigned", "in_progress", "breached"})
_ENGLISH_SHARE = 0.25
_REPEAT_SHARE = 0.2
_KINDS = ("complaint",) * 4 + ("service_request",)


@dataclasses.dataclass(frozen=True, slots=True)
class DemoCast:
    """Who does what in a tenant's demo: a principal per part, departments and handlers."""

    agent: Principal
    supervisor: Principal
    followup: Principal
    handlers: list[tuple[uuid.UUID, Principal]]  # (department id, its handler)


async def _cast(session: AsyncSession) -> DemoCast | None:
    users = list(
        (
            await session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.created_at, User.id)
            )
        ).all()
    )

    def first(role: Role) -> User | None:
        return next((u for u in users if role.value in u.roles), None)

    admin = first(Role.ADMIN)
    if admin is None:
        return None
    departments: Sequence[Department] = await DepartmentService(session, actor="demo").list(
        active=True
    )
    handler_roles = {Role.HANDLER.value, Role.SUPERVISOR.value, Role.ADMIN.value}
    handlers = []
    for department in departments:
        user = next(
            (
                u
                for u in users
                if u.department_id == department.id and Role.HANDLER.value in u.roles
            ),
            None,
        ) or next((u for u in users if u.id == department.manager_id), None)
        if user is not None and set(user.roles) & handler_roles:
            handlers.append((department.id, Principal.for_user(user)))
    if not handlers and departments:
        fallback = first(Role.HANDLER) or admin
        handlers.append((departments[0].id, Principal.for_user(fallback)))
    if not handlers:
        return None
    return DemoCast(
        agent=Principal.for_user(first(Role.AGENT) or admin),
        supervisor=Principal.for_user(first(Role.SUPERVISOR) or admin),
        followup=Principal.for_user(first(Role.FOLLOWUP) or admin),
        handlers=handlers,
    )


def _scale_codes(scale: list[dict[str, Any]]) -> tuple[str, str]:
    satisfied = next((s["code"] for s in scale if s.get("satisfied")), "satisfied")
    unsatisfied = next((s["code"] for s in scale if not s.get("satisfied")), "unsatisfied")
    return str(satisfied), str(unsatisfied)


class _Seeder:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        cast: DemoCast,
        texts: tuple[list[DemoText], list[DemoText]],
        rng: random.Random,
    ) -> None:
        self.session = session
        self.settings = settings
        self.cast = cast
        self.chinese, self.english = texts
        self.rng = rng
        self.people: list[tuple[dict[str, str], Any, uuid.UUID | None]] = []
        self.open_cases: list[tuple[uuid.UUID, CaseCreate]] = []
        self.merge_into = ""
        self.now = utcnow()

    async def prepare(self) -> None:
        categories: Sequence[Category] = await CategoryService(self.session, actor="demo").list(
            active=True
        )
        self.categories = list(categories)
        self.channels = [c.code for c in await current.channels(self.session)]
        self.severities = list(await current.severities(self.session))
        self.demands = [d.code for d in await current.demand_types(self.session)]
        profile = await current.profile(self.session)
        scale = (profile.satisfaction_scale if profile else None) or DEFAULT_SATISFACTION_SCALE
        self.satisfied, self.unsatisfied = _scale_codes(scale)

    def _customer(self, data: CaseCreate) -> CaseCreate:
        """`data` with a made-up customer; now and then a returning one, complaining
        about the same category again (a repeat)."""
        if self.people and self.rng.random() < _REPEAT_SHARE:
            person, kind, category_id = self.rng.choice(self.people)
            return msgspec.structs.replace(
                data, customer=CustomerInput(**person), kind=kind, category_id=category_id
            )
        person = fake_person(self.rng, len(self.people) + 1, data.title.isascii())
        self.people.append((person, data.kind, data.category_id))
        return msgspec.structs.replace(data, customer=CustomerInput(**person))

    def _intake(self, received_at: dt.datetime) -> CaseCreate:
        rng = self.rng
        english = bool(self.english) and rng.random() < _ENGLISH_SHARE
        text = rng.choice(self.english if english else self.chinese)
        kind = rng.choice(_KINDS)
        categories = [c for c in self.categories if c.case_kind in (None, kind)]
        if not categories:
            kind = "complaint"
            categories = [c for c in self.categories if c.case_kind in (None, kind)]
        channel = "phone" if "phone" in self.channels and rng.random() < 0.4 else None
        severity = self.severities[min(int(rng.random() ** 2 * len(self.severities)), 2)]
        return CaseCreate(
            kind=kind,  # type: ignore[arg-type]  # one of the Kind literals
            channel=channel or rng.choice(self.channels),
            title=text.title,
            description=text.description,
            received_at=received_at,
            customer=None,
            product=None,
            demands=rng.sample(self.demands, k=min(len(self.demands), rng.choice((1, 1, 2)))),
            category_id=rng.choice(categories).id if categories else None,
            severity_id=severity.id if self.severities else None,
        )

    def _body(self, action: Action, recipe: Recipe, handler: tuple[uuid.UUID, Principal]) -> Any:
        bodies: dict[Action, Callable[[], body.ActionBody]] = {
            A.VERIFY: lambda: body.Verify(valid=True),
            A.REQUEST_INFO: lambda: body.RequestInfo(question="请提供订单号和购买凭证的照片。"),
            A.ASSIGN: lambda: body.Assign(
                lead_department_id=handler[0], handler_id=handler[1].user_id or uuid.UUID(int=0)
            ),
            A.START: lambda: body.Start(note="已受理,开始处理。"),
            A.PROGRESS: lambda: body.Progress(
                note="已联系客户,正在核实情况并安排处理。", visibility="customer"
            ),
            A.RESOLVE: lambda: body.Resolve(
                root_cause="经核实,问题属实。",
                responsible_party="internal",
                solution_type=self.rng.choice(("refund", "exchange", "repair", "apology")),
                result="已按客户诉求处理完毕,客户已知悉。",
            ),
            A.FEEDBACK: lambda: (
                body.Feedback(satisfaction=self.unsatisfied, reason="问题没有真正解决。")
                if recipe.unsatisfied
                else body.Feedback(satisfaction=self.satisfied)
            ),
            A.SCHEDULE_FOLLOWUP: lambda: body.ScheduleFollowup(),
            A.FOLLOWUP: lambda: body.Followup(
                outcome="resolved_satisfied", note="客户确认问题已解决。"
            ),
            A.ARCHIVE: lambda: body.Archive(),
            A.INVALIDATE: lambda: body.Invalidate(explanation="与另一案件重复,已合并处理。"),
            A.MERGE: lambda: body.Merge(into=self.merge_into, note="客户重复来电,合并处理。"),
        }
        return bodies[action]()

    async def one(self, recipe: Recipe) -> bool:
        """One case of `recipe`; False when a service refused it (nothing kept)."""
        age = dt.timedelta(hours=self.rng.uniform(*recipe.hours))
        received_at = self.now - age
        data = self._customer(self._intake(received_at))
        if recipe.duplicate and self.open_cases:
            target, earlier = self.rng.choice(self.open_cases)
            self.merge_into = str(target)
            data = msgspec.structs.replace(earlier, received_at=received_at)
        handler = self.rng.choice(self.cast.handlers)
        parts = {
            "agent": self.cast.agent,
            "supervisor": self.cast.supervisor,
            "handler": handler[1],
            "followup": self.cast.followup,
        }
        try:
            async with self.session.begin_nested():
                intake = provide_case_intake(self.session, self.cast.agent, self.settings)
                result = await intake.register(data)
                steps = recipe.steps
                for index, (action, part) in enumerate(steps, start=1):
                    # Spread the steps over the first part of the case's age.
                    at = received_at + age * (0.6 * index / (len(steps) + 1))
                    actions = provide_case_actions(self.session, parts[part], self.settings)
                    await actions.apply(
                        result.case.id, action, self._body(action, recipe, handler), now=at
                    )
        except ApiError as exc:
            log.warning("demo case refused", status=recipe.status, error=exc.message)
            return False
        if recipe.status in _OPEN:
            self.open_cases.append((result.case.id, data))
        return True


async def seed_cases(
    session: AsyncSession,
    settings: Settings,
    texts: tuple[list[DemoText], list[DemoText]],
    *,
    seed: str,
) -> Counter[str]:
    """Cases of every recipe for the session's bound tenant, unless it has cases already.
    Answers how many were made of each recipe (empty when none were)."""
    made: Counter[str] = Counter()
    if await session.scalar(select(func.count()).select_from(Case)):
        return made
    cast = await _cast(session)
    if cast is None:
        log.warning("demo cases skipped: the tenant has no admin or no department")
        return made
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, the same on every run
    seeder = _Seeder(session, settings, cast, texts, rng)
    await seeder.prepare()
    # Oldest first, so that a returning customer's earlier case was received earlier.
    for recipe in sorted(RECIPES, key=lambda r: -r.hours[1]):
        for _ in range(recipe.count):
            if await seeder.one(recipe):
                made[recipe.status] += 1
    return made
