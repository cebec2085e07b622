"""How to get the identity services: one provider per service.

`UserService` and `ApiKeyService` take `(session, *, actor=..., settings=...)` (the
tenant is the session's bound one); `LoginService(sessions, *, settings=...)` takes the
app's session factory, since a refused login is recorded in its own transaction. The
providers are Litestar dependencies (parameters `db_session`, `principal`, `settings`,
`state`); tenant files, the demo and the CLI call the constructors with their own actor.
"""

from __future__ import annotations

from litestar.datastructures import State

from closeloop.identity.auth import LoginService
from closeloop.identity.service import ApiKeyService, UserService
from closeloop.providers import AppSettings, audited_as_caller

__all__ = ["provide_api_key_service", "provide_login_service", "provide_user_service"]

provide_user_service = audited_as_caller(UserService, "provide_user_service")
provide_api_key_service = audited_as_caller(ApiKeyService, "provide_api_key_service")


def provide_login_service(state: State, settings: AppSettings) -> LoginService:
    """Password login on the app's session factory."""
    return LoginService(state.sessionmaker, settings=settings)
