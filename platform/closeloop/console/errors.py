"""Errors under /console/ answer an HTML page in the console's layout, not JSON.

The app's JSON handlers stay the ones that decide the status and log: for a console
path, each handler below asks the JSON handler for its answer and renders that status
as a page (403, 404, 500 with the request id, ...). Elsewhere the JSON answer is sent
unchanged. A missing or ended session sends the browser to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response

from closeloop.console.i18n import N_, gettext
from closeloop.console.pages import SECURITY_HEADERS, render, request_locale, see_other, with_query
from closeloop.console.sessions import SignInRequired

__all__ = ["CONSOLE_PREFIX", "is_console", "sign_in_redirect", "with_console_pages"]

CONSOLE_PREFIX = "/console"

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]

TITLES = {
    400: N_("The request was not understood"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Not allowed"),
    413: N_("Too large"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}
MESSAGES = {
    400: N_("Something in the request was not valid. Go back and check what you entered."),
    403: N_(
        "This was refused. If you were filling in a form, it may have been open too long: "
        "reload the page and try again."
    ),
    404: N_("There is no such page, or it is not yours to see."),
    405: N_("This page cannot be used that way."),
    413: N_("What you sent is larger than the console accepts."),
    429: N_("Too many requests in a short time. Wait a moment and try again."),
    500: N_(
        "The console could not finish this request. Try again; if it keeps happening, "
        "tell your administrator the reference below."
    ),
}


def is_console(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def sign_in_redirect(request: Request[Any, Any, Any], *, ended: bool) -> Response[Any]:
    """To the sign-in page, coming back here afterwards (htmx: a full-page redirect)."""
    query: dict[str, str] = {}
    if request.method == "GET" and request.url.path not in ("/console", "/console/"):
        query["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if ended:
        query["ended"] = "1"
    target = with_query("/console/login", list(query.items()))
    if request.headers.get("hx-request"):
        return Response(b"", status_code=401, headers={**SECURITY_HEADERS, "HX-Redirect": target})
    return see_other(target)


def _error_page(request: Request[Any, Any, Any], answer: Response[Any]) -> Response[Any]:
    status = answer.status_code or 500
    key = status if status in TITLES else (500 if status >= 500 else 400)
    locale = request_locale(request)
    page = render(
        request,
        "error.html",
        locale=locale,
        status_code=status,
        status=status,
        title=gettext(locale, TITLES[key]),
        message=gettext(locale, MESSAGES[key]),
        request_id=request.scope.get("state", {}).get("request_id") if status >= 500 else None,
    )
    for name in ("Allow", "Retry-After"):
        if name in answer.headers:
            page.headers[name] = answer.headers[name]
    return page


def _for_console(json_handler: Handler) -> Handler:
    def handler(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        answer = json_handler(request, exc)
        if not is_console(request):
            return answer
        return _error_page(request, answer)

    return handler


def _sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    return sign_in_redirect(request, ended=exc.ended)


def with_console_pages(handlers: dict[Any, Handler]) -> dict[Any, Handler]:
    """The app's exception handlers, answering a page for console paths."""
    wrapped: dict[Any, Handler] = {key: _for_console(h) for key, h in handlers.items()}
    wrapped[SignInRequired] = _sign_in_required
    return wrapped
