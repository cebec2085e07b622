"""How to get the identity services: one provider per service.

`UserService` and `ApiKeyService` take `(session, *, actor=..., settings=...)` (the
tenant is the session's bound one); `LoginService(sessions, *, settings=...)` takes the
app's session factory, since a refused login is recorded in its own transaction. The
providers are Litestar dependencies (parameters `db_session`, `principal`, `settings`,
`state`); tenant files, the demo and the CLI call the constructors with their own actor.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.auth import LoginService
from closeloop.identity.principal import Principal
from closeloop.identity.service import ApiKeyService, UserService
from closeloop.settings import Settings

__all__ = ["provide_api_key_service", "provide_login_service", "provide_user_service"]

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def provide_user_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> UserService:
    """Users of the bound tenant, changes audited as the caller."""
    return UserService(db_session, actor=principal.actor, settings=settings)


def provide_api_key_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> ApiKeyService:
    """API keys of the bound tenant, changes audited as the caller."""
    return ApiKeyService(db_session, actor=principal.actor, settings=settings)


def provide_login_service(state: State, settings: AppSettings) -> LoginService:
    """Password login on the app's session factory."""
    return LoginService(state.sessionmaker, settings=settings)
