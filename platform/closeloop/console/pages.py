"""Rendering console pages: the Jinja environment, the context every page gets, the
security headers every console answer carries, and where cookies may be `Secure`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from closeloop.console.assets import assets
from closeloop.console.i18n import (
    DEFAULT_LOCALE,
    LANGUAGE_COOKIE,
    LOCALES,
    babel_formats,
    choose_locale,
    template_gettext,
    template_ngettext,
)
from closeloop.settings import Settings

__all__ = [
    "LANGUAGE_NAMES",
    "SECURITY_HEADERS",
    "drop_empty_query",
    "render",
    "request_locale",
    "secure_cookies",
    "see_other",
    "template_config",
    "with_query",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Each language named in itself, as language pickers do; not translated on purpose.
LANGUAGE_NAMES = {"zh-CN": "简体中文", "en": "English"}

# No inline script or style anywhere: everything comes from our own origin. Images may
# be data: URIs (Tabler draws form controls with them).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pass_context
def _format_datetime(context: Context, value: dt.datetime, timezone: str = "UTC") -> str:
    """A moment in `timezone`, written the way the page's language writes it."""
    locale = babel_formats(context.get("locale") or DEFAULT_LOCALE)
    return format_datetime(value, "medium", tzinfo=ZoneInfo(timezone), locale=locale)


def _environment() -> Environment:
    # Here, not at the top: these modules use this one (SECURITY_HEADERS, render).
    from closeloop.console.live import clock_texts
    from closeloop.console.navigation import nav_links

    environment = Environment(
        loader=PrefixLoader({"console": FileSystemLoader(TEMPLATES)}),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=template_gettext, ngettext=template_ngettext, newstyle=True
    )
    environment.globals["static_url"] = assets().url
    environment.globals["language_names"] = LANGUAGE_NAMES
    environment.globals["clock_texts"] = clock_texts
    environment.globals["nav_links"] = nav_links
    environment.filters["datetime"] = _format_datetime
    return environment


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))


def request_locale(request: Request[Any, Any, Any], tenant_locale: str | None = None) -> str:
    return choose_locale(
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        tenant_locale=tenant_locale,
        accept_language=request.headers.get("accept-language"),
    )


def secure_cookies(request: Request[Any, Any, Any]) -> bool:
    """Cookies are `Secure` when this request came over HTTPS or the service's public
    address is HTTPS (behind a proxy that terminates TLS)."""
    settings: Settings = request.app.state.settings
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    locale: str,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    """The console page `template` in `locale`, never cached by the browser."""
    assert locale in LOCALES
    return Template(
        template_name=f"console/{template}",
        context={
            "locale": locale,
            "path": request.url.path,
            # The page with its query (filters, period): where a language pick returns.
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        },
        status_code=status_code,
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
        cookies=cookies,
    )


def see_other(target: str) -> Redirect:
    """303 to `target`, with the console's security headers (after a form, or to a
    page's canonical address)."""
    return Redirect(target, status_code=303, headers=SECURITY_HEADERS)


def with_query(path: str, pairs: Sequence[tuple[str, str | None]]) -> str:
    """`path` with the pairs that have a value as its query."""
    query = urlencode([(k, v) for k, v in pairs if v])
    return path + (f"?{query}" if query else "")


async def drop_empty_query(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """A `before_request` for pages with a GET filter form: the form leaves empty fields
    in the URL (`severity=`); go to the URL without them, so the page reads only what
    was chosen and the address stays short."""
    pairs = list(request.query_params.multi_items())
    if not any(value == "" for _, value in pairs):
        return None
    return see_other(with_query(request.url.path, pairs))
