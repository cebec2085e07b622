"""Rendering notification templates in Jinja2's sandbox, and checking them on save.

Templates are Jinja2 in a `SandboxedEnvironment` (no access to unsafe attributes,
no Python calls beyond the sandbox's) with `StrictUndefined`. Which template is
used: the tenant's own for the event, channel and locale when it saved one
(`notification_templates`), else the built-in one of the event and locale
(`closeloop.notify._builtin`); new tenants need no seeding, and a tenant's own
wording survives upgrades of the built-in texts.

`check()` is run when a template is saved: it refuses a template that does not
compile, names a variable the event does not give, or fails to render with a
sample context, with the line of the problem.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from closeloop.notify._builtin import BUILTIN
from closeloop.notify.events import EVENT_VARIABLES, variables

__all__ = ["BUILTIN", "TemplateProblem", "builtin", "check", "render", "render_pair"]

# Longest template source accepted, and longest rendered text kept.
MAX_SOURCE = 20_000
MAX_RENDERED = 100_000


@dataclasses.dataclass(frozen=True)
class TemplateProblem(Exception):
    """A template that cannot be used: which part (`subject`/`body`), the line, why."""

    part: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line else self.part
        return f"{where}: {self.message}"


@functools.cache
def _environment() -> SandboxedEnvironment:
    # Plain text (e-mail text parts, inbox, webhook JSON fields): no HTML escaping.
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def builtin(event: str, locale: str) -> tuple[str, str]:
    """The built-in `(subject, body)` of `event` in `locale`."""
    return BUILTIN[(event, locale)]


def _first_line_of(ast: nodes.Template, name: str) -> int | None:
    for node in ast.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return int(node.lineno)
    return None


def _check_part(part: str, source: str, event: str) -> None:
    if len(source) > MAX_SOURCE:
        raise TemplateProblem(part, None, f"longer than {MAX_SOURCE} characters")
    environment = _environment()
    try:
        ast = environment.parse(source)
        # Compiles the template too: an unknown filter or test fails here.
        undeclared = meta.find_undeclared_variables(ast)
    except TemplateSyntaxError as exc:  # TemplateAssertionError included
        raise TemplateProblem(part, exc.lineno, exc.message or "syntax error") from None
    allowed = variables(event)
    unknown = sorted(undeclared - allowed.keys())
    if unknown:
        name = unknown[0]
        raise TemplateProblem(
            part,
            _first_line_of(ast, name),
            f"unknown variable {name!r}; {event} templates may use " + ", ".join(sorted(allowed)),
        )
    try:
        environment.from_string(source).render(allowed)
    except TemplateError as exc:
        raise TemplateProblem(part, getattr(exc, "lineno", None), str(exc)) from None
    except Exception as exc:  # a sample render may fail in any way
        raise TemplateProblem(part, None, f"{type(exc).__name__}: {exc}") from None


def check(event: str, subject: str, body: str) -> None:
    """Raise `TemplateProblem` unless both parts compile, use only the event's
    variables, and render with the sample context."""
    if event not in EVENT_VARIABLES:
        raise TemplateProblem("event", None, f"unknown event {event!r}")
    if "\n" in subject.strip():
        raise TemplateProblem("subject", None, "a subject is one line")
    _check_part("subject", subject, event)
    _check_part("body", body, event)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # The same few sources (built-in texts, a tenant's own) come back on every event, and
    # compiling one costs more than rendering it; a compiled template renders thread-safely.
    return _environment().from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render one template source; raises `jinja2.TemplateError` (or a sandbox error)."""
    text = _compiled(source).render(dict(context))
    return text[:MAX_RENDERED]


def render_pair(subject: str, body: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Rendered `(subject, body)`; the subject on one line."""
    rendered_subject = " ".join(render(subject, context).split())
    return rendered_subject[:998], render(body, context)
