"""A survey's link: `CLOSELOOP_PUBLIC_URL` + `/public/surveys/<token>`.

The settings come from the caller (`CaseActionService.settings`, which its provider
filled in: the app's settings in a request, the worker's in an actor).
"""

from __future__ import annotations

from closeloop.settings import Settings

__all__ = ["survey_url"]


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/public/surveys/{token}"
