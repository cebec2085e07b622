from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from closeloop.bounded import Email, Name, Password, Slug

__all__ = ["TenantCreate", "TenantCreated", "TenantRead"]


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name
    admin_email: Email
    admin_password: Password
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    admin_name: Name = "Administrator"


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
