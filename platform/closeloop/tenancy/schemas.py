from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

__all__ = ["TenantCreate", "TenantCreated", "TenantRead"]

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    admin_email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    admin_password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    admin_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "Administrator"


class TenantRead(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    status: str
    locale: str
    timezone: str
    created_at: dt.datetime


class TenantCreated(TenantRead):
    admin_user_id: uuid.UUID
    admin_email: str
