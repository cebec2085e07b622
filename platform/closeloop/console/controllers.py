"""The console's own pages: sign-in, sign-out, the language pick and the landing page.

Sign-in checks the password with the API's login service (`LoginService.verify`: the
same throttling and suspended-tenant rules) and opens a server-side session.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from closeloop.console.deps import Page, provide_console_sessions
from closeloop.console.i18n import LANGUAGE_COOKIE, LOCALES, N_, gettext
from closeloop.console.pages import SECURITY_HEADERS, render, request_locale, secure_cookies
from closeloop.console.sessions import SESSION_COOKIE, ConsoleSessionService
from closeloop.errors import ApiError
from closeloop.identity.access import ALL_ROLES, access, public
from closeloop.identity.deps import provide_login_service
from closeloop.identity.schemas import LoginRequest
from closeloop.identity.service import LoginService
from closeloop.settings import Settings

__all__ = ["ConsoleController", "SignInForm", "safe_next"]

HOME = "/console/"
ConsoleSessions = NamedDependency[ConsoleSessionService]
COOKIE_PATH = "/console"
LANGUAGE_MAX_AGE = 365 * 86_400

# `?next=`: the console page to go to afterwards (see safe_next).
NextPath = Annotated[str | None, QueryParameter(name="next", max_length=2000)]

SIGN_IN_ERRORS = {
    "incomplete": N_("Fill in the organisation code, e-mail and password."),
    "invalid_credentials": N_("Wrong organisation code, e-mail or password."),
    "login_throttled": N_(
        "Too many failed sign-ins for this account. Wait a minute and try again."
    ),
    "tenant_suspended": N_(
        "This organisation is suspended. Its staff cannot sign in until the service "
        "operator resumes it."
    ),
}
SIGN_IN_STATUS = {
    "incomplete": 400,
    "invalid_credentials": 401,
    "login_throttled": 429,
    "tenant_suspended": 403,
}


class SignInForm(msgspec.Struct):
    """The sign-in form as posted; checked against the API's LoginRequest limits."""

    tenant: str = ""
    email: str = ""
    password: str = ""
    next: str = ""


def safe_next(value: str | None) -> str:
    """Where to go after signing in or picking a language: a console path, never another
    site (`//evil.example`, `/\\evil.example`)."""
    if (
        value
        and (value == COOKIE_PATH or value.startswith(COOKIE_PATH + "/"))
        and "\\" not in value
        and all(ch.isprintable() for ch in value)
    ):
        return value
    return HOME


class ConsoleController(Controller):
    path = "/"
    opt = public("the sign-in pages and the language pick come before any session")
    dependencies = {
        "login_service": Provide(provide_login_service, sync_to_thread=False),
        "console_sessions": Provide(provide_console_sessions, sync_to_thread=False),
    }

    @get("/login")
    async def sign_in_page(
        self,
        request: Request[Any, Any, Any],
        next_path: NextPath = None,
        ended: FromQuery[bool] = False,
    ) -> Template:
        locale = request_locale(request)
        notice = gettext(locale, N_("Your session has ended. Sign in again.")) if ended else None
        return render(
            request,
            "login.html",
            locale=locale,
            next=safe_next(next_path),
            tenant="",
            email="",
            error=None,
            notice=notice,
        )

    @post("/login")
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        login_service: NamedDependency[LoginService],
        console_sessions: ConsoleSessions,
        data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template | Redirect:
        settings: Settings = request.app.state.settings
        try:
            checked = msgspec.convert(
                {"tenant": data.tenant.strip(), "email": data.email, "password": data.password},
                LoginRequest,
            )
            tenant_id, user_id = await login_service.verify(
                tenant_slug=checked.tenant, email=checked.email, password=checked.password
            )
        except msgspec.ValidationError:
            return self._refused(request, data, "incomplete")
        except ApiError as exc:
            if exc.code not in SIGN_IN_ERRORS:
                raise
            return self._refused(request, data, exc.code)
        # A session the browser held already ends here: sign-in always starts a new one.
        await console_sessions.close(request.cookies.get(SESSION_COOKIE))
        cookie = await console_sessions.open(tenant_id=tenant_id, user_id=user_id)
        return Redirect(
            safe_next(data.next),
            status_code=303,
            headers=SECURITY_HEADERS,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=cookie,
                    path=COOKIE_PATH,
                    max_age=settings.console_session_seconds,
                    httponly=True,
                    samesite="lax",
                    secure=secure_cookies(request),
                )
            ],
        )

    @staticmethod
    def _refused(request: Request[Any, Any, Any], data: SignInForm, code: str) -> Template:
        locale = request_locale(request)
        return render(
            request,
            "login.html",
            locale=locale,
            status_code=SIGN_IN_STATUS[code],
            next=safe_next(data.next),
            tenant=data.tenant[:63],
            email=data.email[:254],
            error=gettext(locale, SIGN_IN_ERRORS[code]),
            notice=None,
        )

    @post("/logout")
    async def sign_out(
        self, request: Request[Any, Any, Any], console_sessions: ConsoleSessions
    ) -> Redirect:
        await console_sessions.close(request.cookies.get(SESSION_COOKIE))
        return Redirect(
            "/console/login",
            status_code=303,
            headers=SECURITY_HEADERS,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value="",
                    path=COOKIE_PATH,
                    max_age=0,
                    httponly=True,
                    samesite="lax",
                    secure=secure_cookies(request),
                )
            ],
        )

    @get("/language/{code:str}")
    async def pick_language(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        next_path: NextPath = None,
    ) -> Redirect:
        """Remember the user's language in a cookie and go back to the page they were on."""
        if code not in LOCALES:
            raise NotFoundException(f"no console language {code!r}")
        return Redirect(
            safe_next(next_path),
            status_code=303,
            headers=SECURITY_HEADERS,
            cookies=[
                Cookie(
                    key=LANGUAGE_COOKIE,
                    value=code,
                    path=COOKIE_PATH,
                    max_age=LANGUAGE_MAX_AGE,
                    httponly=True,
                    samesite="lax",
                    secure=secure_cookies(request),
                )
            ],
        )

    @get("/", opt=access(*ALL_ROLES))
    async def home(self, page: Page) -> Template:
        """The landing page: who is signed in; the queues come here next."""
        return page.render("home.html")
