"""One way to get a service, and settings only through the object passed in.

Handlers declare the services they use as parameters (each domain's `deps.py` provides
them); a controller that builds a service itself fails here. Services share one
constructor shape, and no module keeps a copy of the settings.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

import closeloop
from closeloop.cases.actions import CaseActionService
from closeloop.cases.attachments import AttachmentService
from closeloop.cases.editing import CaseService
from closeloop.cases.intake import IntakeService
from closeloop.cases.timeline import TimelineService
from closeloop.config.service import CategoryService, ProfileService
from closeloop.console.sessions import ConsoleSessionService
from closeloop.customers.service import CustomerService
from closeloop.followups.queue import FollowupQueue
from closeloop.followups.service import FollowupService
from closeloop.identity.auth import LoginService
from closeloop.identity.service import ApiKeyService, UserService
from closeloop.imports.service import ImportService
from closeloop.imports.uploads import ImportUploadService
from closeloop.notify.admin import TemplateService, WebhookService
from closeloop.plugins.admin import PluginAdminService
from closeloop.sla.calendar_service import CalendarService
from closeloop.sla.clocks import ClockService
from closeloop.sla.policies import PolicyService
from closeloop.tenancy.service import TenantService

PACKAGE = Path(closeloop.__file__).parent

SERVICES = [
    ApiKeyService,
    AttachmentService,
    CalendarService,
    CaseActionService,
    CaseService,
    ClockService,
    CategoryService,
    ConsoleSessionService,
    CustomerService,
    FollowupQueue,
    FollowupService,
    ImportService,
    ImportUploadService,
    IntakeService,
    LoginService,
    PluginAdminService,
    PolicyService,
    ProfileService,
    TemplateService,
    TenantService,
    TimelineService,
    UserService,
    WebhookService,
]


def _controller_modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.name == "controllers.py" or path.name.endswith("_controllers.py")
    )


def _service_calls(source: str) -> list[tuple[int, str]]:
    """`(line, name)` of every call of a service class (`...Service(` or `...Queue(`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name[:1].isupper() and name.endswith(("Service", "Queue")):
            found.append((node.lineno, name))
    return found


def test_the_controllers_are_found() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in _controller_modules()}
    assert {"cases/controllers.py", "cases/lifecycle_controllers.py"} <= names
    assert {"console/controllers.py", "sla/calendar_controllers.py"} <= names


@pytest.mark.parametrize(
    "path", _controller_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_no_controller_builds_a_service_itself(path: Path) -> None:
    """Handlers declare the service as a parameter; its provider (deps.py) builds it."""
    calls = _service_calls(path.read_text(encoding="utf-8"))
    assert calls == [], f"use the domain's provider (deps.py) instead of {calls}"


def test_the_check_catches_a_service_built_in_a_handler() -> None:
    handler = "async def h(db_session, principal):\n    return CaseService(db_session)\n"
    assert _service_calls(handler) == [(2, "CaseService")]
    assert _service_calls("async def h(case_service):\n    return case_service\n") == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.__name__)
def test_every_service_takes_the_same_shape(service: type) -> None:
    """`Service(session, *, actor= or principal=, settings=)`: the caller and the settings
    are keyword-only, so every provider builds its service the same way."""
    parameters = inspect.signature(service).parameters
    positional = [
        p.name for p in parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert positional in (["session"], ["sessions"])  # LoginService: the session factory
    keywords = {p.name for p in parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert "settings" in keywords
    if service not in (LoginService, ConsoleSessionService):  # they act as nobody yet
        assert keywords & {"actor", "principal"}


@pytest.mark.parametrize(
    "domain",
    [
        "cases",
        "config",
        "customers",
        "followups",
        "identity",
        "imports",
        "notify",
        "plugins",
        "sla",
    ],
)
def test_each_domain_has_its_providers(domain: str) -> None:
    deps = importlib.import_module(f"closeloop.{domain}.deps")
    assert deps.__doc__, f"closeloop.{domain}.deps explains the pattern in its docstring"
    providers = [name for name in deps.__all__ if name.startswith("provide_")]
    assert providers
    for name in providers:
        assert callable(getattr(deps, name))


def test_no_module_keeps_the_settings() -> None:
    """Settings reach code only through the object passed in: no `notify.runtime`, no
    copy in `session.info`, and no module-level variable holding a `Settings`."""
    assert importlib.util.find_spec("closeloop.notify.runtime") is None
    links = importlib.import_module("closeloop.surveys.links")
    assert not hasattr(links, "carry_settings")
    assert not hasattr(links, "link_settings")
    settings_module = importlib.import_module("closeloop.settings")
    assert not hasattr(settings_module, "get_settings")
    kept = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.AnnAssign) and "Settings" in ast.unparse(node.annotation):
                kept.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            value = getattr(node, "value", None)
            if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("load_settings"):
                kept.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert kept == []
