"""The settings a survey link needs inside a transaction the survey code did not open.

Surveys are sent from `CaseActionService.apply()`, which knows its session but not the
app's settings (the link starts with `CLOSELOOP_PUBLIC_URL`; it lasts
`CLOSELOOP_SURVEY_TTL_DAYS`). The app's session factory carries the settings in every
session's `info` (`carry_settings`, called by `create_app`). A session made elsewhere
(a worker, a script) uses the process's settings; when those cannot be loaded at all,
the defaults, with a warning.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.logs import get_logger
from closeloop.settings import Settings, SettingsError

__all__ = ["SETTINGS_KEY", "LinkSettings", "carry_settings", "link_settings", "survey_url"]

log = get_logger(__name__)

SETTINGS_KEY = "closeloop.settings"


@dataclasses.dataclass(frozen=True, slots=True)
class LinkSettings:
    public_url: str
    survey_ttl_days: int


def _default(name: str) -> Any:
    return next(field.default for field in dataclasses.fields(Settings) if field.name == name)


# The settings' own defaults, for a process whose settings cannot be loaded.
_FALLBACK = LinkSettings(str(_default("public_url")), int(_default("survey_ttl_days")))


def carry_settings(factory: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Make every session of `factory` carry `settings` (in `session.info`)."""
    info: dict[str, Any] = dict(factory.kw.get("info") or {})
    info[SETTINGS_KEY] = settings
    factory.configure(info=info)


def link_settings(session: AsyncSession) -> LinkSettings:
    found = session.info.get(SETTINGS_KEY)
    if not isinstance(found, Settings):
        from closeloop.notify import runtime  # the worker's settings

        try:
            found = runtime.settings()
        except SettingsError as exc:
            log.warning("settings unavailable; survey links use the defaults", error=str(exc))
            return _FALLBACK
    return LinkSettings(found.public_url, found.survey_ttl_days)


def survey_url(settings: LinkSettings, token: str) -> str:
    return f"{settings.public_url}/public/surveys/{token}"
