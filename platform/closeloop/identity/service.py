"""Identity rules: users, API keys, login with throttling, and resolving a bearer token."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop import rows
from closeloop.audit.service import record, record_update
from closeloop.config import current
from closeloop.db import (
    add_in_savepoint,
    bound_tenant,
    new_id,
    scope_setting,
    scoped,
    tenant_scope,
    transaction,
    utcnow,
)
from closeloop.identity.models import ROLES, ApiKey, LoginAttempt, Permission, User
from closeloop.identity.passwords import hash_password, needs_rehash, verify_password
from closeloop.identity.principal import Principal
from closeloop.identity.tokens import (
    API_KEY_PREFIX,
    InvalidToken,
    decode_session_token,
    hash_api_key,
    issue_session_token,
    new_api_key,
    tenant_of_api_key,
)
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from closeloop.tenancy.service import TenantService
from closeloop.web.errors import (
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
)

__all__ = ["ApiKeyService", "LoginService", "UserService", "authenticate"]

_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)
PERMISSIONS = tuple(p.value for p in Permission)
MIN_PASSWORD = 10

current.watch(User)


def _check_roles(
    roles: Sequence[str], permissions: Sequence[str] = (), *, field: str = "roles"
) -> None:
    """Refuse unknown roles (an API key's scopes are roles, reported as `field`)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        what = "scope" if field == "scopes" else "role"
        raise UnprocessableEntity(
            f"unknown {what} {unknown[0]!r}; {what}s are {', '.join(ROLES)}",
            field=field,
        )
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise UnprocessableEntity(
            f"unknown permission {unknown[0]!r}; permissions are {', '.join(PERMISSIONS)}",
            field="permissions",
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UnprocessableEntity(
            f"password must have at least {MIN_PASSWORD} characters", field="password"
        )


def _user_shape(user: User) -> dict[str, object]:
    """What the audit trail keeps of a user; never the password hash."""
    return {
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "permissions": list(user.permissions),
        "department_id": user.department_id,
        "active": user.active,
    }


_FOREIGN_KEY_VIOLATION = "23503"


def _violates_foreign_key(exc: IntegrityError) -> bool:
    # A user's only reference besides its tenant is its department.
    return getattr(exc.orig, "sqlstate", None) == _FOREIGN_KEY_VIOLATION


def _unknown_department(department_id: uuid.UUID | None) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"no department {department_id} in this tenant", field="department_id"
    )


class UserService:
    """Users of the session's bound tenant; changes are audited as `actor`."""

    def __init__(self, session: AsyncSession, *, actor: str = "system") -> None:
        self.session = session
        self.actor = actor

    async def list(self, *, limit: int, after: str | None) -> Sequence[User]:
        query = select(User).order_by(User.email).limit(limit)
        if after:
            query = query.where(User.email > after)
        return (await self.session.scalars(query)).all()

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.session.get(User, (self._tenant(), user_id))
        if user is None:
            raise NotFound("no such user")
        return user

    def _tenant(self) -> uuid.UUID:
        tenant_id = bound_tenant(self.session)
        assert tenant_id is not None, "UserService needs a tenant-bound session"
        return tenant_id

    async def create(
        self,
        *,
        email: str,
        display_name: str,
        password: str,
        roles: Sequence[str],
        permissions: Sequence[str] = (),
        department_id: uuid.UUID | None = None,
    ) -> User:
        _check_roles(roles, permissions)
        _check_password(password)
        email = email.strip().lower()
        if "@" not in email:
            raise UnprocessableEntity("email is not an e-mail address", field="email")
        user = User(
            tenant_id=self._tenant(),
            id=new_id(),
            email=email,
            display_name=display_name,
            password_hash=await hash_password(password),
            roles=sorted(set(roles)),
            permissions=sorted(set(permissions)),
            department_id=department_id,
            active=True,
        )
        try:
            await add_in_savepoint(self.session, user)
        except IntegrityError as exc:
            if _violates_foreign_key(exc):
                raise _unknown_department(department_id) from None
            raise Conflict(f"a user with e-mail {email!r} exists already", field="email") from None
        await record(
            self.session,
            actor=self.actor,
            action="user.create",
            entity_type="user",
            entity_id=user.id,
            after=_user_shape(user),
        )
        return user

    async def update(
        self,
        user_id: uuid.UUID,
        *,
        display_name: str | None = None,
        roles: Sequence[str] | None = None,
        permissions: Sequence[str] | None = None,
        active: bool | None = None,
        password: str | None = None,
        department_id: uuid.UUID | None = None,
    ) -> User:
        user = await self.get(user_id)
        _check_roles(roles or (), permissions or ())
        before = _user_shape(user)
        if display_name is not None:
            user.display_name = display_name
        if roles is not None:
            user.roles = sorted(set(roles))
        if permissions is not None:
            user.permissions = sorted(set(permissions))
        if active is not None:
            user.active = active
        if department_id is not None:
            user.department_id = department_id
        if password is not None:
            _check_password(password)
            user.password_hash = await hash_password(password)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            if _violates_foreign_key(exc):
                raise _unknown_department(department_id) from None
            raise
        await record_update(
            self.session,
            actor=self.actor,
            action="user.update",
            entity_type="user",
            entity_id=user.id,
            before=before,
            after=_user_shape(user),
            flags={"password_changed": True} if password is not None else None,
        )
        return user


class ApiKeyService:
    """API keys of one tenant; changes are audited as `actor`."""

    def __init__(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, actor: str = "system"
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.actor = actor

    async def list(self) -> Sequence[ApiKey]:
        return (
            await self.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
        ).all()

    async def get(self, key_id: uuid.UUID) -> ApiKey:
        key = await self.session.get(ApiKey, (self.tenant_id, key_id))
        if key is None:
            raise NotFound("no such API key")
        return key

    async def create(
        self, *, name: str, scopes: Sequence[str], created_by: uuid.UUID | None
    ) -> tuple[ApiKey, str]:
        """A new key; the plain key is returned this once and never stored."""
        if not scopes:
            raise UnprocessableEntity("an API key needs at least one scope", field="scopes")
        _check_roles(scopes, field="scopes")
        plain, prefix = new_api_key(self.tenant_id)
        key = ApiKey(
            tenant_id=self.tenant_id,
            id=new_id(),
            name=name,
            prefix=prefix,
            secret_hash=hash_api_key(plain),
            scopes=sorted(set(scopes)),
            created_by=created_by,
        )
        self.session.add(key)
        await self.session.flush()
        await record(
            self.session,
            actor=self.actor,
            action="api_key.create",
            entity_type="api_key",
            entity_id=key.id,
            after={"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes)},
        )
        return key, plain

    async def revoke(self, key_id: uuid.UUID) -> ApiKey:
        key = await self.get(key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.session.flush()
            await record(
                self.session,
                actor=self.actor,
                action="api_key.revoke",
                entity_type="api_key",
                entity_id=key.id,
                before={"revoked_at": None},
                after={"revoked_at": key.revoked_at},
            )
        return key


class LoginService:
    """Password login with a per-account failure budget shared by every app process.

    Failures are recorded in their own committed transaction, so a refused login
    still counts; past `login_max_failures` in the window the account answers 429
    without checking the password.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def login(
        self, *, tenant_slug: str, email: str, password: str
    ) -> tuple[str, dt.datetime]:
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
                return issue_session_token(
                    secret=self.settings.secret_key,
                    tenant_id=tenant.id,
                    user_id=user.id,
                    ttl_seconds=self.settings.jwt_ttl_seconds,
                )
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
