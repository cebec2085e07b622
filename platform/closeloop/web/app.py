"""The app factory: `create_app()` builds the Litestar application; nothing happens on import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import __version__
from closeloop.audit.controllers import AuditController
from closeloop.cases.controllers import AttachmentController, CaseController
from closeloop.cases.lifecycle_controllers import CaseActionController, CaseTimelineController
from closeloop.config.controllers import CONFIG_CONTROLLERS
from closeloop.console import ConsolePlugin
from closeloop.customers.controllers import CustomerController
from closeloop.db import create_engine, sessionmaker
from closeloop.followups.controllers import FollowupController
from closeloop.identity.access import public
from closeloop.identity.controllers import ApiKeyController, AuthController, UserController
from closeloop.imports.controllers import ImportController
from closeloop.logs import configure_logging, get_logger
from closeloop.models import load_all_models
from closeloop.notify.controllers import NOTIFY_CONTROLLERS
from closeloop.plugins.controllers import PLUGIN_CONTROLLERS
from closeloop.provision import check_app_role
from closeloop.public import PublicCaseController
from closeloop.queue.controllers import DeadLetterController
from closeloop.queue.inprocess import background_work
from closeloop.reports.controllers import ReportController
from closeloop.reports.schedule_controllers import ReportScheduleController
from closeloop.settings import Settings, load_settings
from closeloop.sla.calendar_controllers import CalendarController
from closeloop.sla.controllers import CaseSlaController, SlaPolicyController
from closeloop.surveys.controllers import PublicSurveyController
from closeloop.tenancy.controllers import PlatformTenantController
from closeloop.times import TYPE_DECODERS, TimeSchemaPlugin
from closeloop.web.allow import answer_options
from closeloop.web.bodies import StrictRequest
from closeloop.web.context import RequestContextMiddleware, echo_request_id
from closeloop.web.deps import provide_db_session, provide_principal, provide_settings
from closeloop.web.errors import exception_handlers
from closeloop.web.guards import check_access
from closeloop.web.health import HealthController
from closeloop.web.openapi import components, document_api
from closeloop.web.params import refuse_loose_booleans
from closeloop.web.sessions import RequestSessionsMiddleware

__all__ = ["ROUTE_HANDLERS", "create_app", "create_app_from_env"]

log = get_logger(__name__)

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    UserController,
    ApiKeyController,
    PlatformTenantController,
    HealthController,
    CustomerController,
    AuditController,
    CaseController,
    AttachmentController,
    PublicCaseController,
    *CONFIG_CONTROLLERS,
    CaseActionController,
    CaseTimelineController,
    CalendarController,
    SlaPolicyController,
    CaseSlaController,
    DeadLetterController,
    *NOTIFY_CONTROLLERS,
    *PLUGIN_CONTROLLERS,
    PublicSurveyController,
    FollowupController,
    ImportController,
    ReportController,
    ReportScheduleController,
]


class MetricsController(PrometheusController):
    opt = public("Prometheus scrapes it; it counts requests and names no tenant")


def _before_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    refuse_loose_booleans(request)
    return answer_options(request)


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    engine: AsyncEngine | None = None,
    extra_route_handlers: list[ControllerRouterHandler] | None = None,
    background: bool = False,
) -> Litestar:
    """Build the app. The database is `engine`, else `database_url`, else the settings' URL.

    `background=True` (the command line sets it when BROKER_URL is unset) also runs the
    Dramatiq worker, the outbox relay and the scheduler inside this process.
    """
    load_all_models()
    url = database_url or settings.database_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_engine = engine is None
        if engine is not None:
            active = engine
        elif url is not None:
            active = create_engine(
                url,
                pool_size=settings.db_pool_size,
                pool_timeout=settings.db_pool_timeout_ms / 1000,
            )
        else:
            raise RuntimeError("no database: pass database_url, or run `closeloop demo`")
        try:
            await check_app_role(active)
            app.state.engine = active
            app.state.sessionmaker = sessionmaker(active)
            async with background_work(settings, active, url, enabled=background):
                log.info("closeloop ready", version=__version__)
                yield
        finally:
            if own_engine:
                await active.dispose()

    prometheus = PrometheusConfig(app_name="closeloop", prefix="closeloop", group_path=True)
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, MetricsController, *(extra_route_handlers or [])],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        # Every route declares who may call it (closeloop.identity.access); this checks it.
        guards=[check_access],
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        before_request=_before_request,
        before_send=[echo_request_id],
        middleware=[RequestContextMiddleware, RequestSessionsMiddleware, prometheus.middleware],
        request_max_body_size=settings.max_body_bytes,
        type_decoders=TYPE_DECODERS,  # dates and times as clients type them
        # dates and times in the schema; the staff console under /console/
        plugins=[TimeSchemaPlugin(), ConsolePlugin(settings)],
        openapi_config=OpenAPIConfig(
            title="Closeloop",
            version=__version__,
            path="/schema",
            openapi_router=Router(
                "/schema",
                route_handlers=[],
                include_in_schema=False,
                dto=None,
                return_dto=None,
                opt=public("the API's description"),
            ),
            components=components(),
            security=[{"bearer": []}],
        ),
        request_class=StrictRequest,
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
        logging_config=None,
    )
    document_api(app)
    return app


def create_app_from_env() -> Litestar:
    """The app of each process of `closeloop serve --workers N`; uvicorn calls this factory.

    Every process reads the same environment (and `.env`) the way the command line does,
    so each builds the same app. The parent process has already migrated the schema and
    checked the database role; background work runs in `closeloop worker` and `closeloop
    scheduler`, never in these processes, which is why they need BROKER_URL (and a
    DATABASE_URL server rather than the embedded one).
    """
    settings = load_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    if settings.database_url is None or settings.broker_url is None:
        raise RuntimeError("several app processes need DATABASE_URL and BROKER_URL")
    return create_app(settings)
