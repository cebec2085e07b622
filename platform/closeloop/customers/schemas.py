"""The customer API's bodies: what intake accepts about a customer, and what a reader sees."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

__all__ = ["CustomerInput", "CustomerRead"]

Short = Annotated[str, msgspec.Meta(max_length=200)]
Ref = Annotated[str, msgspec.Meta(max_length=128)]
Locale = Annotated[str, msgspec.Meta(max_length=16)]


class CustomerInput(msgspec.Struct, forbid_unknown_fields=True):
    """A customer as given at intake. `name`, `phone`, `email` and `id_number` are PII."""

    external_ref: Ref | None = None
    nickname: Short | None = None
    name: Short | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    locale: Locale | None = None


class CustomerRead(msgspec.Struct):
    """A customer; PII fields are masked unless the caller holds the `pii` permission."""

    id: uuid.UUID
    external_ref: str | None
    nickname: str | None
    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    erased: bool
    locale: str | None = None
    masked: bool = True
