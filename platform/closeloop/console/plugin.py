"""`ConsolePlugin`: puts the staff console into the app.

It adds the `/console` router (pages, static files, CSRF protection, security
headers), the Jinja template configuration, and the HTML error pages for console
paths. `create_app()` only lists the plugin.
"""

from __future__ import annotations

import hashlib

from litestar import Router
from litestar.config.app import AppConfig
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins import InitPluginProtocol

from closeloop.console.assets import assets, static_file
from closeloop.console.board import BoardController
from closeloop.console.case_page import CasePageController
from closeloop.console.controllers import COOKIE_PATH, ConsoleController
from closeloop.console.deps import console_caller, provide_page, provide_viewer
from closeloop.console.errors import with_console_pages
from closeloop.console.followup_desk import FollowupDeskController
from closeloop.console.imports import ImportPageController
from closeloop.console.inbox import InboxPageController
from closeloop.console.pages import template_config
from closeloop.console.queues import QueueController
from closeloop.console.register import RegisterController
from closeloop.console.report_schedules import ReportSchedulePageController
from closeloop.console.reports import ReportsPageController
from closeloop.settings import Settings
from closeloop.web.guards import CALLER_KEY

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "ConsolePlugin"]

CSRF_COOKIE = "closeloop_csrf"
CSRF_HEADER = "x-csrftoken"


# Pages and fragments leave gzipped (a queue page shrinks to about a sixth); static
# files are gzipped once by `assets`, attachments are mostly compressed already.
PAGE_COMPRESSION = CompressionConfig(
    backend="gzip",
    gzip_compress_level=6,
    minimum_size=1024,
    exclude=[r"^/console/static/", r"^/console/cases/[^/]+/attachments/"],
)


def _csrf_config(settings: Settings) -> CSRFConfig:
    # Double-submit token: a signed random value in an HttpOnly cookie, repeated in each
    # unsafe request's `_csrf_token` form field or X-CSRFToken header (console.js sets
    # it for htmx from <meta name="csrf-token">). Its own key, derived from the secret.
    secret = hashlib.sha256(b"closeloop console csrf\0" + settings.secret_key.encode()).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=COOKIE_PATH,
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=settings.public_url.startswith("https://"),
        header_name=CSRF_HEADER,
    )


class ConsolePlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        assets()  # hash the static files now, not on the first page
        router = Router(
            path="/console",
            route_handlers=[
                ConsoleController,
                RegisterController,
                static_file,
                QueueController,
                BoardController,
                InboxPageController,
                CasePageController,
                FollowupDeskController,
                ImportPageController,
                ReportsPageController,
                ReportSchedulePageController,
            ],
            middleware=[
                DefineMiddleware(CSRFMiddleware, config=_csrf_config(self.settings)),
                DefineMiddleware(CompressionMiddleware, config=PAGE_COMPRESSION),
            ],
            dependencies={
                "viewer": Provide(provide_viewer, sync_to_thread=False),
                "page": Provide(provide_page, sync_to_thread=False),
            },
            # Pages declaring access(...) are for the signed-in user of a cookie session.
            opt={CALLER_KEY: console_caller},
            include_in_schema=False,
        )
        app_config.route_handlers.append(router)
        app_config.template_config = template_config()
        app_config.exception_handlers = with_console_pages(dict(app_config.exception_handlers))
        return app_config
