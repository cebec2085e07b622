"""The identity API's request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from closeloop.bounded import Email, Name, Password

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "LoginRequest",
    "LoginResponse",
    "UserCreate",
    "UserRead",
    "UserUpdate",
]

Slug = Annotated[str, msgspec.Meta(min_length=2, max_length=63)]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    tenant: Slug
    email: Email
    password: Password


class LoginResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: dt.datetime


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    display_name: Name
    password: Password
    roles: list[str]
    permissions: list[str] = []
    department_id: uuid.UUID | None = None


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Name | None = None
    roles: list[str] | None = None
    permissions: list[str] | None = None
    active: bool | None = None
    password: Password | None = None
    department_id: uuid.UUID | None = None


class UserRead(msgspec.Struct):
    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    department_id: uuid.UUID | None
    active: bool
    created_at: dt.datetime


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    scopes: list[str]


class ApiKeyRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiKeyCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    key: str
    created_at: dt.datetime
