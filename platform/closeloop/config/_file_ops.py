"""The tenant file's operating sections: business calendars, SLA policies with their
escalation ladders, notification templates and webhook endpoints.

    [[calendars]]                     # matched by code
    code = "office"
    name = "办公时间"
    extra_holidays = [2026-10-09]
    [calendars.week_hours]
    mon = ["09:00-12:00", "13:30-18:00"]

    [[sla_policies]]                  # matched by code
    code = "urgent"
    name = "紧急"
    match_severity = "urgent"
    calendar = "office"               # a calendar code; left out: the default calendar
    [sla_policies.targets.resolution]
    unit = "business"
    hours = 24
    [[sla_policies.levels]]           # the escalation ladder, in order
    target = "resolution"
    trigger = "percent"
    threshold = 80
    actions = ["notify_handler"]

    [[templates]]                     # matched by event, channel and locale
    event = "case.acknowledged"
    channel = "email"
    locale = "zh-CN"
    subject = "..."
    body = "..."

    [[webhooks]]                      # matched by url
    url = "https://crm.example.com/hooks/closeloop"
    events = ["case.resolved"]
    secret_env = "ACME_CRM_WEBHOOK_SECRET"

* A named item is created when missing, else brought to the file, and only when it
  differs: applying the same file twice changes nothing. The writes go through the
  services the API uses (`CalendarService`, `PolicyService`, `TemplateService`,
  `WebhookService`): the same checks, the same audit entries.
* SLA policies the file does not name are deactivated (never deleted: clocks refer to
  them), but for the default one. Calendars, templates and webhooks it does not name are
  left as they are (a calendar in use cannot go; a tenant without its own template uses
  the built-in one; an endpoint may be added through the API).
* `is_default = true` moves the default calendar or policy to that item; `false` (or
  left out) never takes the default away (another item must take it).
* A rule an item breaks is an error naming the item's field and line
  (`sla_policies[1].targets.resolution.hours`).
* Export writes every calendar and policy, the tenant's own templates, and webhooks
  without secrets (add `secret_env` to create them on another deployment).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable
from closeloop.config._file_format import TenantFile
from closeloop.config._file_plan import Change, changed_fields
from closeloop.db import bound_tenant
from closeloop.errors import ApiError
from closeloop.notify.admin import TemplateService, WebhookService
from closeloop.settings import Settings
from closeloop.sla.calendar import DEFAULT_WEEK_HOURS
from closeloop.sla.calendar_service import SETTINGS, CalendarService, _normalized
from closeloop.sla.policies import LEVEL_FIELDS, PolicyService
from closeloop.sla.timing import TARGETS
from closeloop.tenancy.models import Tenant

__all__ = ["OperationsPlan", "export_operations", "plan_operations", "write_operations"]

_POLICY_VIEW = (
    "name",
    "position",
    "active",
    "is_default",
    "match_kind",
    "match_severity",
    "match_category",
    "match_channel",
)
_CALENDAR_VIEW = ("name", *SETTINGS, "is_default")


@dataclasses.dataclass
class _Op:
    section: str
    index: int | None  # the item in the file (None: a stored item the file leaves out)
    key: str
    op: str  # add, change, deactivate
    before: dict[str, Any] | None
    after: dict[str, Any]
    values: dict[str, Any]  # what the service is given
    row_id: uuid.UUID | None = None

    @property
    def change(self) -> Change:
        entity = {"sla_policies": "sla_policy", "calendars": "calendar"}.get(
            self.section, self.section.removesuffix("s")
        )
        return Change(self.op, entity, self.key, self.before, self.after)


@dataclasses.dataclass
class OperationsPlan:
    changes: list[Change]

    def __bool__(self) -> bool:
        return bool(self.changes)


def _fail(file: TenantFile, section: str, index: int | None, exc: ApiError) -> Exception:
    at = f"{section}[{index}]" if index is not None else section
    field = exc.fields[0] if exc.fields else None
    message = exc.message
    if field is not None:
        message = message.removeprefix(f"{field}: ")
        at = f"{at}.{field}"
    return file.error(at, message)


@dataclasses.dataclass
class _Planner:
    """The operations of the file against what the bound tenant stores (nothing when
    `tenant` is None: a tenant the apply creates)."""

    session: AsyncSession
    file: TenantFile
    tenant: Tenant | None
    env: Mapping[str, str]
    settings: Settings | None
    actor: str = "tenant-file"
    ops: list[_Op] = dataclasses.field(default_factory=list, init=False)

    def _service(self, kind: type[Any]) -> Any:
        return kind(self.session, actor=self.actor, settings=self.settings)

    async def _stored(self, kind: type[Any]) -> list[Any]:
        if self.tenant is None:
            return []
        return list(await self._service(kind).list())

    def _add(self, op: _Op) -> None:
        if op.op == "add" or op.before != op.after:
            if op.op == "change" and op.before is not None:
                after = changed_fields(op.before, op.after)
                op.before = {name: op.before.get(name) for name in after}
                op.after = after
            self.ops.append(op)

    def _item(
        self,
        section: str,
        index: int,
        key: str,
        row: Any,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        """A named item: added when nothing is stored under its key, else changed."""
        op = "add" if row is None else "change"
        self._add(_Op(section, index, key, op, before, after, values, getattr(row, "id", None)))

    async def calendars(self) -> dict[str, uuid.UUID | None]:
        """Plan the calendars; the id of every calendar code known after the apply."""
        stored = {row.code: row for row in await self._stored(CalendarService)}
        codes: dict[str, uuid.UUID | None] = {code: row.id for code, row in stored.items()}
        timezone = self.tenant.timezone if self.tenant else self.file.spec.tenant.timezone
        for index, spec in enumerate(self.file.spec.calendars or []):
            values = msgspec.structs.asdict(spec)
            if spec.week_hours is not None:
                values["week_hours"] = msgspec.to_builtins(spec.week_hours)
            checked = {
                **values,
                "timezone": spec.timezone or timezone,
                "week_hours": values["week_hours"] or DEFAULT_WEEK_HOURS,
            }
            try:
                normalized = _normalized(checked)
            except ApiError as exc:
                raise _fail(self.file, "calendars", index, exc) from None
            values = {name: value for name, value in checked.items() if name != "code"}
            row = stored.get(spec.code)
            after = jsonable({"name": spec.name, **normalized, "is_default": spec.is_default})
            before = _calendar_view(row) if row is not None else None
            if before is not None and not spec.is_default:
                after["is_default"] = before["is_default"]  # false never takes it away
            if row is None:
                values["code"] = spec.code
            self._item("calendars", index, spec.code, row, before, after, values)
            codes.setdefault(spec.code, None)
        return codes

    async def policies(self, calendars: dict[str, uuid.UUID | None]) -> None:
        stored = {row.code: row for row in await self._stored(PolicyService)}
        names = {code_id: code for code, code_id in calendars.items() if code_id is not None}
        service = self._service(PolicyService)
        for index, spec in enumerate(self.file.spec.sla_policies or []):
            if spec.calendar is not None and spec.calendar not in calendars:
                raise self.file.error(
                    f"sla_policies[{index}].calendar", f"no calendar with code {spec.calendar!r}"
                )
            row = stored.get(spec.code)
            values = msgspec.structs.asdict(spec)
            values["targets"] = msgspec.to_builtins(spec.targets)
            values["levels"] = [msgspec.to_builtins(level) for level in spec.levels]
            values["calendar_id"] = calendars.get(spec.calendar) if spec.calendar else None
            calendar = values.pop("calendar")
            after = jsonable(
                {
                    **{name: values[name] for name in _POLICY_VIEW},
                    "calendar": calendar,
                    "targets": values["targets"],
                    "levels": values["levels"],
                }
            )
            before = None
            if row is not None:
                before = _policy_view(row, await service.levels(row.id), names)
                if not spec.is_default:
                    after["is_default"] = before["is_default"]
                values.pop("code")
            self._item("sla_policies", index, spec.code, row, before, after, values)
        if self.file.spec.sla_policies is None:
            return
        named = {spec.code for spec in self.file.spec.sla_policies}
        for code, row in sorted(stored.items()):
            if code not in named and row.active and not row.is_default:
                before, after = {"active": True}, {"active": False}
                self._add(
                    _Op("sla_policies", None, code, "deactivate", before, after, after, row.id)
                )

    async def templates(self) -> None:
        stored = {
            f"{row.event}/{row.channel}/{row.locale}": row
            for row in await self._stored(TemplateService)
        }
        for index, spec in enumerate(self.file.spec.templates or []):
            key = f"{spec.event}/{spec.channel}/{spec.locale}"
            row = stored.get(key)
            values = msgspec.structs.asdict(spec)
            after = {"subject": spec.subject, "body": spec.body}
            if row is None:
                self._add(_Op("templates", index, key, "add", None, after, values))
                continue
            before = {"subject": row.subject, "body": row.body}
            self._add(_Op("templates", index, key, "change", before, after, after, row.id))

    async def webhooks(self) -> None:
        stored = {row.url: row for row in await self._stored(WebhookService)}
        for index, spec in enumerate(self.file.spec.webhooks or []):
            url = spec.url.strip()
            row = stored.get(url)
            after = {"description": spec.description, "events": spec.events, "active": spec.active}
            if row is not None:
                before = {
                    "description": row.description,
                    "events": list(row.events),
                    "active": row.active,
                }
                self._add(_Op("webhooks", index, url, "change", before, after, after, row.id))
                continue
            at = f"webhooks[{index}].secret_env"
            if spec.secret_env is None:
                raise self.file.error(
                    at, "a new endpoint needs its signing secret: name its environment variable"
                )
            secret = self.env.get(spec.secret_env)
            if not secret:
                raise self.file.error(at, f"environment variable {spec.secret_env} is not set")
            values = {"url": url, "secret": secret, **after}
            self._add(_Op("webhooks", index, url, "add", None, after, values))

    async def plan(self) -> list[_Op]:
        calendars = await self.calendars()
        await self.policies(calendars)
        await self.templates()
        await self.webhooks()
        return self.ops


def _calendar_view(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = jsonable({name: getattr(row, name) for name in _CALENDAR_VIEW})
    return values


def _policy_view(row: Any, levels: list[Any], calendars: dict[uuid.UUID, str]) -> dict[str, Any]:
    values: dict[str, Any] = jsonable(
        {
            **{name: getattr(row, name) for name in _POLICY_VIEW},
            "calendar": calendars.get(row.calendar_id) if row.calendar_id else None,
            "targets": row.targets or {},
            "levels": [{name: getattr(level, name) for name in LEVEL_FIELDS} for level in levels],
        }
    )
    return values


async def plan_operations(
    session: AsyncSession, file: TenantFile, tenant: Tenant | None, env: Mapping[str, str]
) -> OperationsPlan:
    """What applying the file's operating sections changes (`tenant` None: it is new)."""
    ops = await _Planner(session, file, tenant, env, None).plan()
    return OperationsPlan([op.change for op in ops])


async def write_operations(
    session: AsyncSession,
    file: TenantFile,
    tenant: Tenant,
    env: Mapping[str, str],
    settings: Settings | None,
    actor: str,
) -> None:
    """Bring the bound tenant's operating sections to the file, planning again against
    what is stored now (a new tenant was given defaults since the plan)."""
    assert bound_tenant(session) == tenant.id
    planner = _Planner(session, file, tenant, env, settings, actor)
    ops = await planner.plan()
    if any(op.section == "webhooks" and op.op == "add" for op in ops) and settings is None:
        raise ValueError("creating a file's webhooks needs the server's settings (data keys)")
    kinds = {
        "calendars": CalendarService,
        "sla_policies": PolicyService,
        "templates": TemplateService,
        "webhooks": WebhookService,
    }
    calendar_ids: dict[str, uuid.UUID] = {}
    for op in ops:
        service = planner._service(kinds[op.section])
        values = dict(op.values)
        if op.section == "sla_policies" and op.op != "deactivate":
            calendar = (file.spec.sla_policies or [])[op.index or 0].calendar
            if calendar is not None and values.get("calendar_id") is None:
                values["calendar_id"] = calendar_ids[calendar]
            if op.op == "change" and not values.get("is_default"):
                values.pop("is_default", None)
        if op.section == "calendars" and op.op == "change" and not values.get("is_default"):
            values.pop("is_default", None)
        try:
            if op.op == "deactivate":  # nothing to check; a stale match must not block it
                assert op.row_id is not None
                row = await service.get(op.row_id)
                before = await service.snapshot(row)
                row.active = False
                await service.audit_update(row, before)
            elif op.op == "add":
                row = await service.create(values)
            else:
                assert op.row_id is not None
                row = await service.update(op.row_id, values)
        except ApiError as exc:
            raise _fail(file, op.section, op.index, exc) from None
        if op.section == "calendars":
            calendar_ids[op.key] = row.id
    await session.flush()


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TARGET_KEYS = ("unit", "hours", "days", "earliest_days")
# Values an exported item leaves out because the file's default is the same.
_DEFAULTS = {"active": True, "is_default": False, "extra_holidays": [], "extra_working_days": []}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in values.items()
        if value is not None and not (name in _DEFAULTS and value == _DEFAULTS[name])
    }


def _tidy_targets(targets: dict[str, Any]) -> dict[str, Any]:
    """Targets in the order of the lifecycle, each spec's keys in a reader's order."""
    return {
        name: {key: spec[key] for key in _TARGET_KEYS if spec.get(key) is not None}
        for name in TARGETS
        if (spec := targets.get(name))
    }


async def export_operations(session: AsyncSession) -> dict[str, Any]:
    """The bound tenant's operating sections in the file's layout."""
    document: dict[str, Any] = {}
    calendars = list(await CalendarService(session).list())
    names = {row.id: row.code for row in calendars}
    document["calendars"] = [
        {
            "code": row.code,
            **_without_none(
                {
                    **{name: getattr(row, name) for name in _CALENDAR_VIEW},
                    "extra_holidays": [_date(d) for d in row.extra_holidays],
                    "extra_working_days": [_date(d) for d in row.extra_working_days],
                    "week_hours": {day: row.week_hours.get(day, []) for day in _WEEKDAYS},
                }
            ),
        }
        for row in sorted(calendars, key=lambda row: row.code)
    ]
    service = PolicyService(session)
    policies = []
    for row in sorted(await service.list(), key=lambda row: (row.position, row.code)):
        view = _policy_view(row, await service.levels(row.id), names)
        levels = [_without_none(level) for level in view.pop("levels")]
        view["targets"] = _tidy_targets(view["targets"])
        policies.append({"code": row.code, **_without_none(view), "levels": levels})
    document["sla_policies"] = policies
    templates = await TemplateService(session).list()
    if templates:
        document["templates"] = [
            {
                "event": t.event,
                "channel": t.channel,
                "locale": t.locale,
                "subject": t.subject,
                "body": t.body,
            }
            for t in templates
        ]
    webhooks = await WebhookService(session).list()
    if webhooks:
        document["webhooks"] = [
            {
                "url": w.url,
                "events": list(w.events),
                "description": w.description,
                "active": w.active,
            }
            for w in sorted(webhooks, key=lambda w: w.url)
        ]
    return document


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
