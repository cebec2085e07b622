"""Signing in: password login with throttling, and resolving a bearer token."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop import rows
from closeloop.config import current
from closeloop.db import (
    new_id,
    scope_setting,
    scoped,
    tenant_scope,
    transaction,
    unscoped,
    utcnow,
)
from closeloop.errors import TooManyRequests, Unauthorized
from closeloop.identity.models import ApiKey, LoginAttempt, User
from closeloop.identity.passwords import hash_password, needs_rehash, verify_password
from closeloop.identity.principal import Principal
from closeloop.identity.tokens import (
    API_KEY_PREFIX,
    InvalidToken,
    decode_session_token,
    hash_api_key,
    issue_session_token,
    tenant_of_api_key,
)
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from closeloop.tenancy.service import TenantService

__all__ = ["LoginService", "authenticate"]

current.watch(User)  # sessions cache users under the config version

_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


class LoginService:
    """Password login with a per-account failure budget shared by every app process.

    Failures are recorded in their own committed transaction, so a refused login
    still counts; past `login_max_failures` in the window the account answers 429
    without checking the password.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def login(
        self, *, tenant_slug: str, email: str, password: str
    ) -> tuple[str, dt.datetime]:
        """A session token for the API (`Authorization: Bearer ...`) and its expiry."""
        tenant_id, user_id = await self.verify(
            tenant_slug=tenant_slug, email=email, password=password
        )
        return issue_session_token(
            secret=self.settings.secret_key,
            tenant_id=tenant_id,
            user_id=user_id,
            ttl_seconds=self.settings.jwt_ttl_seconds,
        )

    async def verify(
        self, *, tenant_slug: str, email: str, password: str
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """The tenant and user ids the password opens, under the throttling and
        suspended-tenant rules; the API's login and the console's sign-in both use it."""
        email = email.strip().lower()
        async with transaction(self.sessions) as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
            if tenant is None:
                await verify_password(None, password)
                raise Unauthorized("wrong tenant, e-mail or password", code="invalid_credentials")
            TenantService.ensure_active(tenant)
            await tenant_scope(session, tenant.id)
            window_start = utcnow() - dt.timedelta(
                seconds=self.settings.login_failure_window_seconds
            )
            failures = await session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.email == email, LoginAttempt.created_at >= window_start)
            )
            if (failures or 0) >= self.settings.login_max_failures:
                raise TooManyRequests(
                    "too many failed logins for this account; wait a minute and try again",
                    code="login_throttled",
                    details={"retry_after_seconds": self.settings.login_failure_window_seconds},
                )
            user = await session.scalar(select(User).where(User.email == email))
            ok = await verify_password(user.password_hash if user else None, password)
            if ok and user is not None and user.active:
                if needs_rehash(user.password_hash):
                    user.password_hash = await hash_password(password)
                await session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
                return tenant.id, user.id
            tenant_id = tenant.id
        async with transaction(self.sessions, tenant_id) as session:
            session.add(LoginAttempt(tenant_id=tenant_id, id=new_id(), email=email))
        raise Unauthorized("wrong tenant, e-mail or password", code="invalid_credentials")


async def authenticate(
    session: AsyncSession, authorization: str | None, settings: Settings
) -> Principal:
    """Resolve `Authorization: Bearer ...` to a principal and bind its tenant to `session`."""
    if not authorization:
        raise Unauthorized("this endpoint needs `Authorization: Bearer <token or API key>`")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be `Bearer <token or API key>`")
    try:
        if token.startswith(API_KEY_PREFIX):
            return await _authenticate_api_key(session, token)
        claims = decode_session_token(token, secret=settings.secret_key)
    except InvalidToken as exc:
        raise Unauthorized(str(exc), code="invalid_token") from None
    tenant = await _active_tenant(session, claims.tenant_id)

    async def load_user() -> User | None:
        return await session.get(User, (tenant.id, claims.user_id))

    # Cached per process under the tenant's config version, which any change to a
    # user (roles, permissions, deactivation) bumps (closeloop.config.current).
    user = await current.shared(session, ("user", claims.user_id), load_user)
    if user is None or not user.active:
        raise Unauthorized("this account is no longer active", code="invalid_token")
    return Principal(
        tenant_id=tenant.id,
        user_id=user.id,
        roles=frozenset(user.roles),
        permissions=frozenset(user.permissions),
    )


# Built once, run through the driver (`rows.Query`): the tenant row, binding it to the
# transaction. Every authenticated request runs it first.
_TENANTS: Table = Tenant.__table__  # type: ignore[assignment]
_TENANT_AND_SCOPE = rows.Query(
    select(*_TENANTS.c, scope_setting(bindparam("scope"))).where(
        _TENANTS.c.id == bindparam("tenant_id")
    )
)


async def _active_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    # One round trip reads the tenant and binds it to the transaction; a missing or
    # suspended tenant fails the request, which rolls the binding back.
    # No tenant is bound before this statement binds one: the driver path's opt-out.
    with unscoped(session):
        found = await _TENANT_AND_SCOPE.fetchrow(session, tenant_id=tenant_id, scope=str(tenant_id))
    if found is None:
        raise Unauthorized("the bearer token is not valid", code="invalid_token")
    tenant = rows.loaded(session, Tenant, found)
    TenantService.ensure_active(tenant)
    scoped(session, tenant.id)
    current.remember_tenant(session, tenant)
    return tenant


async def _authenticate_api_key(session: AsyncSession, token: str) -> Principal:
    tenant = await _active_tenant(session, tenant_of_api_key(token))
    key = await session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_api_key(token)))
    if key is None or key.revoked_at is not None:
        raise InvalidToken("the API key is not valid or has been revoked")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_GRANULARITY:
        key.last_used_at = now
    return Principal(
        tenant_id=tenant.id,
        api_key_id=key.id,
        roles=frozenset(key.scopes),
        permissions=frozenset(),
    )
