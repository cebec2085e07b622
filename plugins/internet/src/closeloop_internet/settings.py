"""The internet plugin's per-tenant settings (`PUT /api/v1/plugins/internet`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["Settings"]

Count = Annotated[int, msgspec.Meta(ge=1)]
Email = Annotated[str, msgspec.Meta(pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Priority = Literal["P1", "P2", "P3", "P4"]


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every field has a default; a tenant sets only what it changes.

    - `security_contact`: e-mail told of every data-security complaint at registration
      (empty: the case is flagged instead).
    - `security_categories`: category codes (with their sub-categories) that make a
      complaint a data-security one; `extra.data_exposure = true` always does.
    - `severity_map`: `{"P3": "important"}` overrides the mapping of a priority onto the
      tenant's severity codes; priorities left out map by rank.
    - `p1_users`, `p2_users`, `p3_users`: affected users from which a report is P1, P2, P3.
    - `long_outage_minutes`: an outage at least this long raises the priority one level;
      `max_raise`: how many levels the aggravating facts may raise it together.
    - `outage_categories`: categories whose reports are grouped per outage;
      `outage_window_minutes` and `outage_threshold`: this many reports of one service
      and region within the window are one incident (an alert).
    """

    security_contact: Email = ""
    security_categories: list[str] = msgspec.field(default_factory=lambda: ["information_security"])
    severity_map: dict[Priority, str] = msgspec.field(default_factory=dict)
    p1_users: Count = 10_000
    p2_users: Count = 1_000
    p3_users: Count = 10
    long_outage_minutes: Count = 240
    max_raise: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    outage_categories: list[str] = msgspec.field(default_factory=lambda: ["system_failure"])
    outage_window_minutes: Count = 15
    outage_threshold: Annotated[int, msgspec.Meta(ge=2)] = 5
