"""How to get the configuration services: one provider per service.

`ProfileService` takes `(session, *, actor=..., settings=...)`; the
providers are Litestar dependencies (parameters `db_session`, `principal`, `settings`)
that audit changes as the caller. Code without a caller (tenant files, the demo, the
CLI) calls the same constructor with its own actor name and settings.
"""

from __future__ import annotations

from closeloop.config.service import ProfileService
from closeloop.providers import audited_as_caller

__all__ = ["provide_profile_service"]

provide_profile_service = audited_as_caller(ProfileService, "provide_profile_service")
