"""Test helpers for plugin authors: run a plugin's hooks on sample cases, no server and no
database needed.

    from closeloop.testing import run_hook, sample_case
    import my_plugin

    def test_warranty_ends_on_day_365():
        case = sample_case(product={"purchase_date": "2025-11-20"})
        result = run_hook(my_plugin, "check_entitlement", case=case)
        assert result.eligible

`run_hook` calls the implementation the way the server does (`closeloop.plugins.calling`):
the plugin is registered on a pluggy manager with Closeloop's hookspecs (so a wrong
hook name or argument fails here as it would at startup), only the arguments the
implementation names are passed, `settings` goes through the plugin's `Settings` Struct,
the call has a time budget, and the result is converted to the hook's return type. A
failure the server would record as a failed finding raises `PluginFailure` here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from closeloop.plugins.calling import (
    DEFAULT_TIME_BUDGET,
    HOOK_NAMES,
    PluginFailure,
    call_sync,
    hook_argnames,
    implementation,
    load_settings,
    new_plugin_manager,
    plugin_meta,
    select_kwargs,
)
from closeloop.plugins.types import CaseEventSnapshot, CaseSnapshot, SeverityLevel, TenantInfo

__all__ = ["PluginFailure", "case_event", "run_hook", "sample_case", "tenant_info"]

SAMPLE_CASE_ID = uuid.UUID("00000000-0000-4000-8000-00000000ca5e")
SAMPLE_TENANT_ID = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
# 2026-11-20 10:00 in Shanghai: a fixed moment, so date rules give the same answer every day.
SAMPLE_RECEIVED_AT = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def sample_case(**overrides: Any) -> CaseSnapshot:
    """A valid `CaseSnapshot` (a registered phone complaint received 2026-11-20 10:00
    Shanghai time, severity `normal`), with `overrides` replacing fields. Values may
    be given as JSON-like data: `received_at="2026-11-01T09:00:00+08:00"`,
    `product={"purchase_date": "2025-11-20"}`. An unknown field name is a TypeError."""
    unknown = set(overrides) - set(CaseSnapshot.__struct_fields__)
    if unknown:
        raise TypeError(f"CaseSnapshot has no field(s) {sorted(unknown)}")
    data: dict[str, Any] = {
        "id": SAMPLE_CASE_ID,
        "number": "2026110001",
        "kind": "complaint",
        "status": "registered",
        "channel": "phone",
        "received_at": SAMPLE_RECEIVED_AT,
        "title": "Washing machine stopped working",
        "description": "The washing machine stops mid-cycle with error E21.",
        "category_code": "product_quality",
        "severity_code": "normal",
        "severity_rank": 1,
        "product": {"name": "Washing machine", "model": "WM-100"},
        "demands": ["repair"],
        "extra": {},
    }
    data.update(overrides)
    return msgspec.convert(msgspec.to_builtins(data), CaseSnapshot)


def case_event(
    type: str = "verified",
    *,
    case: CaseSnapshot | None = None,
    from_status: str | None = "registered",
    to_status: str | None = "verified",
    data: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> CaseEventSnapshot:
    """A `CaseEventSnapshot` for `on_case_event` (default: the sample case verified)."""
    return CaseEventSnapshot(
        case=case or sample_case(status=to_status or "registered"),
        type=type,
        from_status=from_status,
        to_status=to_status,
        data=dict(data or {}),
        at=at or SAMPLE_RECEIVED_AT + dt.timedelta(hours=1),
    )


_DEFAULT_SEVERITIES = (("normal", 1), ("urgent", 2), ("critical", 3))


def tenant_info(
    *,
    slug: str = "demo",
    locale: str = "zh-CN",
    timezone: str = "Asia/Shanghai",
    severities: Sequence[str | tuple[str, int]] | None = None,
    id: uuid.UUID = SAMPLE_TENANT_ID,
) -> TenantInfo:
    """A `TenantInfo`; `severities` are codes lowest first (ranks 1, 2, ...) or
    `(code, rank)` pairs; default `normal`, `urgent`, `critical`."""
    levels = []
    for position, level in enumerate(severities or _DEFAULT_SEVERITIES, start=1):
        code, rank = (level, position) if isinstance(level, str) else level
        levels.append(SeverityLevel(code=code, rank=rank))
    levels.sort(key=lambda s: s.rank)
    return TenantInfo(id=id, slug=slug, locale=locale, timezone=timezone, severities=levels)


def run_hook(
    plugin: object,
    hook_name: str,
    *,
    settings: Mapping[str, Any] | msgspec.Struct | None = None,
    tenant: TenantInfo | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    **kwargs: Any,
) -> Any:
    """Call `plugin`'s implementation of `hook_name` as the server would and return the
    converted result (a Struct of `closeloop.plugins.types`, a list of them, or None).

    `plugin` is the module (or object) the entry point names. `settings` is a dict as
    stored for a tenant (or a `Settings` instance); None means the defaults. `tenant`
    defaults to `tenant_info()`. The hook's own arguments (`case`, `kind`, `event`) go
    in `kwargs`; `tenant_settings` is filled in like the server does.

    Raises `LookupError` when the plugin does not implement the hook, `TypeError` for
    an argument the hook does not have, `PluginFailure` when the server would record a
    failed finding (exception, wrong result shape, over `time_budget` seconds).
    """
    if hook_name not in HOOK_NAMES:
        raise LookupError(f"no hook {hook_name!r}; hooks are {', '.join(HOOK_NAMES)}")
    offered_names = hook_argnames(hook_name)
    unknown = set(kwargs) - set(offered_names)
    if unknown:
        raise TypeError(f"{hook_name} has no argument(s) {sorted(unknown)}")
    meta = plugin_meta(plugin, fallback_name=getattr(plugin, "__name__", None))
    pm = new_plugin_manager()
    pm.register(plugin, name=meta.name)
    impl = implementation(pm, hook_name, plugin)
    if impl is None:
        raise LookupError(f"plugin {meta.name} does not implement {hook_name}")
    try:
        loaded = load_settings(meta, settings)
    except msgspec.ValidationError as exc:
        raise PluginFailure("invalid_settings", str(exc)) from None
    offered = {
        **kwargs,
        "settings": loaded,
        "tenant_settings": loaded,
        "tenant": tenant or tenant_info(),
    }
    offered = {k: v for k, v in offered.items() if k in offered_names}
    return call_sync(
        impl.function, hook_name, select_kwargs(impl.function, offered), time_budget=time_budget
    )
