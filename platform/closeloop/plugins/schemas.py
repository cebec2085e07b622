"""What `/api/v1/plugins` and `/api/v1/cases/{id}/findings` read and accept."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

__all__ = ["SECRET_MASK", "FindingRead", "PluginRead", "PluginUpdate"]

SECRET_MASK = "***"  # noqa: S105 - a secret setting that is set, as the API shows it


class PluginRead(msgspec.Struct):
    """An installed plugin and how this tenant set it up. `settings` are the effective
    settings (defaults filled in) with each secret that is set shown as `"***"`;
    `settings_schema` is the JSON schema of the plugin's `Settings` (secret fields
    marked `writeOnly`)."""

    name: str
    version: str
    description: str
    builtin: bool
    hooks: list[str]
    settings_schema: dict[str, Any]
    secret_fields: list[str]
    enabled: bool
    configured: bool
    settings: dict[str, Any]
    failure_threshold: int | None
    time_budget_ms: int | None
    consecutive_failures: int
    last_error: str | None
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    settings_error: str | None = None


class PluginUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """`PUT /api/v1/plugins/{name}`: every field optional. `settings` replaces the
    settings (missing fields take their defaults) except secrets: a secret left out or
    sent as `"***"` keeps its stored value, `null` clears it. Enabling resets the
    failure count. `failure_threshold` / `time_budget_ms` null means the deployment's
    setting."""

    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    settings: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    failure_threshold: Annotated[int, msgspec.Meta(ge=1, le=1000)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    time_budget_ms: Annotated[int, msgspec.Meta(ge=10, le=60000)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )


class FindingRead(msgspec.Struct):
    id: uuid.UUID
    case_id: uuid.UUID
    plugin: str
    version: str
    hook: str
    status: str
    result: Any
    error: str | None
    duration_ms: int
    notes: dict[str, Any]
    created_at: dt.datetime
