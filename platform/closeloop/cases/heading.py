"""The fields that name a case wherever one is shown: in full, in a list, in a
customer's data export. A module of its own so that the customer schemas, which the
case schemas import, can use it too."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

__all__ = ["CaseHeading"]


class CaseHeading(msgspec.Struct):
    """Id, number, kind, status, channel, when received and title; a subclass's own
    fields follow these in its answers."""

    id: uuid.UUID
    number: str
    kind: str
    status: str
    channel: str
    received_at: dt.datetime
    title: str
