"""Console sessions: opened at sign-in, checked on every page, ended at sign-out.

The cookie holds `<tenant id hex>.<secret>`. The tenant id lets the lookup bind the
tenant first, so row-level security applies to the session table like to every tenant
table; only the SHA-256 of the secret is stored. A session is over when its row is
gone, when it was not used for `console_idle_seconds`, or `console_session_seconds`
after sign-in; a suspended tenant or deactivated user is refused too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config import current
from closeloop.console.models import ConsoleSession
from closeloop.db import new_id, tenant_scope, utcnow
from closeloop.identity.models import User
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant, TenantStatus

__all__ = [
    "SESSION_COOKIE",
    "ConsoleSessionService",
    "ConsoleUser",
    "SignInRequired",
    "parse_cookie",
]

SESSION_COOKIE = "closeloop_session"
# `last_seen_at` is written at most this often, not on every page.
TOUCH_EVERY = dt.timedelta(seconds=60)
_TENANT_HEX = 32
_MIN_SECRET = 43  # secrets.token_urlsafe(32)


class SignInRequired(Exception):
    """No usable console session; `ended` when the browser had one that is over."""

    def __init__(self, *, ended: bool = False) -> None:
        super().__init__("sign in to the console")
        self.ended = ended


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in staff member of a console request, and their tenant."""

    principal: Principal
    session_id: uuid.UUID
    email: str
    display_name: str
    tenant_slug: str
    tenant_name: str
    tenant_locale: str
    tenant_timezone: str
    signed_in_at: dt.datetime


def _hash(secret: str) -> bytes:
    # 256 random bits: a plain SHA-256 is a safe lookup hash (as for API keys).
    return hashlib.sha256(secret.encode()).digest()


def parse_cookie(value: str | None) -> tuple[uuid.UUID, str] | None:
    """The tenant id and secret of a session cookie, or None when it is not one."""
    if not value:
        return None
    tenant_hex, dot, secret = value.partition(".")
    if not dot or len(tenant_hex) != _TENANT_HEX or len(secret) < _MIN_SECRET:
        return None
    try:
        return uuid.UUID(hex=tenant_hex), secret
    except ValueError:
        return None


class ConsoleSessionService:
    """Console sessions in the request's transaction (`session`)."""

    def __init__(self, session: AsyncSession, *, settings: Settings) -> None:
        self.session = session
        self.idle = dt.timedelta(seconds=settings.console_idle_seconds)
        self.lifetime = dt.timedelta(seconds=settings.console_session_seconds)

    async def open(self, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
        """A new session for a user whose password was just checked; the cookie value.

        Binds `tenant_id` to the transaction. The user's sessions that are over are
        deleted on the way, so ended rows do not pile up.
        """
        await tenant_scope(self.session, tenant_id)
        now = utcnow()
        await self.session.execute(
            delete(ConsoleSession).where(
                ConsoleSession.user_id == user_id,
                or_(
                    ConsoleSession.expires_at <= now,
                    ConsoleSession.last_seen_at <= now - self.idle,
                ),
            )
        )
        secret = secrets.token_urlsafe(32)
        self.session.add(
            ConsoleSession(
                tenant_id=tenant_id,
                id=new_id(),
                user_id=user_id,
                token_hash=_hash(secret),
                last_seen_at=now,
                expires_at=now + self.lifetime,
                created_at=now,
            )
        )
        await self.session.flush()
        return f"{tenant_id.hex}.{secret}"

    async def resolve(self, cookie: str | None) -> ConsoleUser:
        """The signed-in user of a session cookie, with the tenant bound to the transaction.

        Raises SignInRequired when there is no cookie or its session is not usable.
        """
        parsed = parse_cookie(cookie)
        if parsed is None:
            raise SignInRequired(ended=bool(cookie))
        tenant_id, secret = parsed
        await tenant_scope(self.session, tenant_id)
        found = (
            await self.session.execute(
                select(ConsoleSession, User, Tenant)
                .join(
                    User,
                    (User.tenant_id == ConsoleSession.tenant_id)
                    & (User.id == ConsoleSession.user_id),
                )
                .join(Tenant, Tenant.id == ConsoleSession.tenant_id)
                .where(ConsoleSession.token_hash == _hash(secret))
            )
        ).first()
        if found is None:
            raise SignInRequired(ended=True)
        row, user, tenant = found
        now = utcnow()
        if (
            now >= row.expires_at
            or now - row.last_seen_at >= self.idle
            or not user.active
            or tenant.status != TenantStatus.ACTIVE
        ):
            raise SignInRequired(ended=True)
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        current.remember_tenant(self.session, tenant)  # read here; services need not again
        return ConsoleUser(
            principal=Principal(
                tenant_id=tenant.id,
                user_id=user.id,
                roles=frozenset(user.roles),
                permissions=frozenset(user.permissions),
            ),
            session_id=row.id,
            email=user.email,
            display_name=user.display_name,
            tenant_slug=tenant.slug,
            tenant_name=tenant.name,
            tenant_locale=tenant.locale,
            tenant_timezone=tenant.timezone,
            signed_in_at=row.created_at,
        )

    async def close(self, cookie: str | None) -> None:
        """End the session of `cookie` (sign-out); nothing happens when there is none."""
        parsed = parse_cookie(cookie)
        if parsed is None:
            return
        tenant_id, secret = parsed
        await tenant_scope(self.session, tenant_id)
        await self.session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(secret))
        )
