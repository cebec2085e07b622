"""How to get the configuration services: one provider per service.

`ConfigService` / `ProfileService` take `(session, *, actor=..., settings=...)`; the
providers are Litestar dependencies (parameters `db_session`, `principal`, `settings`)
that audit changes as the caller. Code without a caller (tenant files, the demo, the
CLI) calls the same constructor with its own actor name and settings.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config.service import ConfigService, ProfileService
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["provide_config_service", "provide_profile_service"]

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def provide_config_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> ConfigService:
    """Configuration items of the bound tenant, changes audited as the caller."""
    return ConfigService(db_session, actor=principal.actor, settings=settings)


def provide_profile_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> ProfileService:
    """The bound tenant's profile, changes audited as the caller."""
    return ProfileService(db_session, actor=principal.actor, settings=settings)
