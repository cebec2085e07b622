"""How one plugin's hook implementation is called: pure rules shared by the per-tenant
manager and `closeloop.testing`, so a plugin's own tests see exactly what the server does.

- the arguments handed over are those the implementation names (positional and
  keyword parameters alike) among the hook's arguments;
- the call runs on a daemon thread of its own (an idle one kept from an earlier call,
  else a new one) with a time budget; an overrun is a failure (the thread cannot be
  killed and is left to finish; its result is dropped);
- the result is converted to the hook's declared return type (`hookspecs`), so a
  dict of the right shape is accepted and anything else is a failure;
- a plugin's `Settings` Struct turns the stored settings into an instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import queue
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec
import pluggy

from closeloop.plugins import hookspecs
from closeloop.plugins.markers import PROJECT

__all__ = [
    "DEFAULT_TIME_BUDGET",
    "HOOK_NAMES",
    "PluginFailure",
    "PluginMeta",
    "call_async",
    "call_sync",
    "convert_result",
    "hook_argnames",
    "implementation",
    "load_settings",
    "new_plugin_manager",
    "plugin_meta",
    "result_type",
    "select_kwargs",
    "settings_schema",
]

DEFAULT_TIME_BUDGET = 2.0

HOOK_NAMES: tuple[str, ...] = tuple(sorted(hookspecs.__all__))

FailureKind = Literal["error", "invalid_result", "timeout", "invalid_settings"]


class PluginFailure(Exception):
    """A plugin call that did not give a usable answer; `kind` says how."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class PluginMeta(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin's module attributes: `NAME`, `VERSION`, `DESCRIPTION`, `Settings`,
    `SECRET_FIELDS`."""

    name: str
    version: str
    description: str
    settings_type: type[msgspec.Struct] | None
    secret_fields: tuple[str, ...]


def new_plugin_manager() -> pluggy.PluginManager:
    """A pluggy manager of the project `closeloop` with the hookspecs added; registering
    a plugin there checks its implementations' names and arguments against them."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def plugin_meta(plugin: object, *, fallback_name: str | None = None) -> PluginMeta:
    name = getattr(plugin, "NAME", None) or fallback_name
    if not isinstance(name, str) or not name:
        raise ValueError(f"plugin {plugin!r} has no NAME")
    settings_type = getattr(plugin, "Settings", None)
    if settings_type is not None and not (
        isinstance(settings_type, type) and issubclass(settings_type, msgspec.Struct)
    ):
        raise ValueError(f"plugin {name}: Settings must be a msgspec.Struct class")
    secrets = tuple(getattr(plugin, "SECRET_FIELDS", ()) or ())
    if settings_type is not None:
        unknown = set(secrets) - set(settings_type.__struct_fields__)
        if unknown:
            raise ValueError(f"plugin {name}: SECRET_FIELDS {sorted(unknown)} are not settings")
    return PluginMeta(
        name=name,
        version=str(getattr(plugin, "VERSION", "0")),
        description=str(getattr(plugin, "DESCRIPTION", "") or inspect.getdoc(plugin) or ""),
        settings_type=settings_type,
        secret_fields=secrets,
    )


def settings_schema(meta: PluginMeta) -> dict[str, Any]:
    """The JSON schema of the plugin's settings (`{}` for a plugin without settings);
    secret fields are marked `writeOnly`."""
    if meta.settings_type is None:
        return {"type": "object"}
    schema: dict[str, Any] = msgspec.json.schema(meta.settings_type)
    refs = schema.get("$defs", {})
    ref = schema.get("$ref", "")
    body = refs.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
    for field in meta.secret_fields:
        if field in body.get("properties", {}):
            body["properties"][field]["writeOnly"] = True
    return schema


def load_settings(meta: PluginMeta, raw: Mapping[str, Any] | msgspec.Struct | None) -> Any:
    """Stored settings (a dict, secrets already decrypted) as the plugin sees them: an
    instance of its `Settings` (defaults filled in) or a dict. Raises
    `msgspec.ValidationError` naming the field (`at $.field`)."""
    if meta.settings_type is None:
        if isinstance(raw, msgspec.Struct):
            return msgspec.structs.asdict(raw)
        return dict(raw or {})
    if isinstance(raw, meta.settings_type):
        return raw
    data = msgspec.to_builtins(raw) if isinstance(raw, msgspec.Struct) else dict(raw or {})
    return msgspec.convert(data, meta.settings_type)


@functools.cache
@functools.cache
def hook_argnames(hook_name: str) -> tuple[str, ...]:
    """The arguments the hook offers (from its spec)."""
    spec = getattr(hookspecs, hook_name)
    return tuple(inspect.signature(spec).parameters)


@functools.cache
def result_type(hook_name: str) -> Any:
    """The hook's declared return type without its None."""
    annotation = typing.get_type_hints(getattr(hookspecs, hook_name))["return"]
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return members[0] if len(members) == 1 else functools.reduce(lambda a, b: a | b, members)
    return annotation


def select_kwargs(function: Callable[..., Any], offered: Mapping[str, Any]) -> dict[str, Any]:
    """The offered arguments the implementation names (pluggy passes only parameters
    without defaults; Closeloop passes the ones with defaults too)."""
    names = _parameter_names(function)
    if names is None:
        return dict(offered)
    return {name: offered[name] for name in names if name in offered}


@functools.lru_cache(maxsize=1024)
def _parameter_names(function: Callable[..., Any]) -> tuple[str, ...] | None:
    """The function's parameter names; None when it takes `**kwargs`. Remembered: a
    signature costs more to read than many hooks take to run."""
    params = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return tuple(params)


def implementation(pm: pluggy.PluginManager, hook_name: str, plugin: object) -> Any | None:
    """The `HookImpl` of `plugin` for `hook_name`, or None when it does not implement it."""
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        if impl.plugin is plugin:
            return impl
    return None


def convert_result(hook_name: str, value: Any) -> Any:
    """The result as the hook's return type; None (or an empty list) stays None.
    Raises `PluginFailure("invalid_result", ...)` for anything else."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return None
    if isinstance(value, tuple):
        value = list(value)
    try:
        return msgspec.convert(value, result_type(hook_name))
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        raise PluginFailure("invalid_result", f"{hook_name} returned {shown}: {exc}") from None


class _Worker:
    """A daemon thread that runs plugin calls one at a time, kept idle between them.

    Starting a thread per call cost more than many hooks themselves. A call takes an
    idle worker, or starts a new one when none is idle, so a call never waits behind
    another: a hung plugin keeps only its own worker, which rejoins the idle ones
    (up to `_MAX_IDLE`) if the call ever returns.
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]]]
        self._calls = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="closeloop-plugin", daemon=True).start()

    def submit(self, call: Callable[[], None], done: Callable[[], None]) -> None:
        """Run `call()` (which must not raise), then `done()`, the worker idle again."""
        self._calls.put((call, done))

    def _loop(self) -> None:
        while True:
            call, done = self._calls.get()
            call()
            with _idle_lock:
                keep = len(_idle) < _MAX_IDLE
                if keep:
                    _idle.append(self)
            done()
            if not keep:
                return


_MAX_IDLE = 16
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def _start(
    function: Callable[..., Any], kwargs: Mapping[str, Any], done: Callable[[], None]
) -> dict[str, Any]:
    """Run `function(**kwargs)` on a worker thread; `done()` when it ended (the worker
    idle again). The answer gets `value` or `error` then."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome["value"] = context.run(function, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    with _idle_lock:
        worker = _idle.pop() if _idle else None
    (worker or _Worker()).submit(run, done)
    return outcome


def _outcome(hook_name: str, outcome: dict[str, Any]) -> Any:
    if "error" in outcome:
        exc = outcome["error"]
        raise PluginFailure("error", f"{type(exc).__name__}: {exc}") from exc
    return convert_result(hook_name, outcome.get("value"))


def call_sync(
    function: Callable[..., Any],
    hook_name: str,
    kwargs: Mapping[str, Any],
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Any:
    """Call one implementation in a thread within `time_budget` seconds; the converted
    result, or `PluginFailure`."""
    finished = threading.Event()
    outcome = _start(function, kwargs, finished.set)
    if not finished.wait(time_budget):
        raise PluginFailure("timeout", f"{hook_name} took longer than {time_budget:g} s")
    return _outcome(hook_name, outcome)


async def call_async(
    function: Callable[..., Any],
    hook_name: str,
    kwargs: Mapping[str, Any],
    *,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> Any:
    """`call_sync` without blocking the event loop."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not finished.done():
            finished.set_result(None)

    def done() -> None:
        # the loop may have closed while the plugin was still running
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle)

    outcome = _start(function, kwargs, done)
    try:
        # A timeout around a future, not `wait_for`, which starts a task per call.
        async with asyncio.timeout(time_budget):
            await finished
    except TimeoutError:
        raise PluginFailure("timeout", f"{hook_name} took longer than {time_budget:g} s") from None
    return _outcome(hook_name, outcome)
