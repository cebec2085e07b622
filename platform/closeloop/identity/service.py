"""Identity rules: users and API keys (signing in is `closeloop.identity.auth`, re-exported
here)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, func, literal, select
from sqlalchemy.exc import IntegrityError

from closeloop.config import current
from closeloop.crud import AuditedService
from closeloop.db import add_in_savepoint, new_id, utcnow
from closeloop.errors import Conflict, UnprocessableEntity
from closeloop.identity.auth import LoginService, authenticate
from closeloop.identity.models import ROLES, ApiKey, Permission, Role, User
from closeloop.identity.passwords import hash_password
from closeloop.identity.tokens import hash_api_key, new_api_key

__all__ = ["ADMIN_PERMISSIONS", "ApiKeyService", "LoginService", "UserService", "authenticate"]

PERMISSIONS = tuple(p.value for p in Permission)
ADMIN_PERMISSIONS = (Permission.PII.value,)  # what a tenant's first admin is made with
_ADMIN_LOCK_CLASS = 0x41444D4E  # "ADMN": advisory lock namespace of a tenant's admin set
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


def _user_shape(user: User) -> dict[str, Any]:
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


class UserService(AuditedService[User]):
    """Users of the session's bound tenant; changes are audited as `actor`."""

    model, entity, label = User, "user", "user"

    async def snapshot(self, row: User) -> dict[str, Any]:
        return _user_shape(row)

    async def list(self, *, limit: int, after: str | None) -> Sequence[User]:  # type: ignore[override]
        query = select(User).order_by(User.email).limit(limit)
        if after:
            query = query.where(User.email > after)
        return (await self.session.scalars(query)).all()

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
            tenant_id=self.tenant(),
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
        await self.audit_create(user)
        return user

    async def create_admin(self, *, email: str, display_name: str, password: str) -> User:
        """A tenant's first admin, made by the operator API or the demo: the admin role
        with the `pii` permission (`ADMIN_PERMISSIONS`), so that someone in a new tenant
        sees customers' details unmasked and can grant that to others."""
        return await self.create(
            email=email,
            display_name=display_name,
            password=password,
            roles=[Role.ADMIN.value],
            permissions=ADMIN_PERMISSIONS,
        )

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
        if _removes_an_admin(user, roles=roles, active=active):
            await self._keep_an_active_admin(user, field="active" if active is False else "roles")
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
        await self.audit_update(
            user, before, flags={"password_changed": True} if password is not None else None
        )
        return user

    async def _keep_an_active_admin(self, user: User, *, field: str) -> None:
        """Refuse to take the tenant's last active admin away (409 `last_admin`).

        Every change that takes an admin away waits for the tenant's admin lock first,
        then counts the others in a fresh snapshot: of two requests demoting the last
        two admins at once, the second sees the first's committed change and is refused.
        """
        lock = func.pg_advisory_xact_lock(_ADMIN_LOCK_CLASS, func.hashtext(str(self.tenant())))
        await self.session.execute(select(lock))
        others = await self.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.active, literal(Role.ADMIN.value) == any_(User.roles), User.id != user.id)
        )
        if not others:
            raise Conflict(
                f"{user.email} is the tenant's last active admin; make another user an "
                "active admin first",
                code="last_admin",
                field=field,
            )


def _removes_an_admin(user: User, *, roles: Sequence[str] | None, active: bool | None) -> bool:
    if not (user.active and Role.ADMIN.value in user.roles):
        return False
    return active is False or (roles is not None and Role.ADMIN.value not in roles)


class ApiKeyService(AuditedService[ApiKey]):
    """API keys of the session's bound tenant; changes are audited as `actor`."""

    model, entity, label = ApiKey, "api_key", "API key"

    def ordering(self) -> tuple[Any, ...]:
        return (ApiKey.created_at, ApiKey.id)

    async def create(
        self, *, name: str, scopes: Sequence[str], created_by: uuid.UUID | None
    ) -> tuple[ApiKey, str]:
        """A new key; the plain key is returned this once and never stored."""
        if not scopes:
            raise UnprocessableEntity("an API key needs at least one scope", field="scopes")
        _check_roles(scopes, field="scopes")
        plain, prefix = new_api_key(self.tenant())
        key = ApiKey(
            tenant_id=self.tenant(),
            id=new_id(),
            name=name,
            prefix=prefix,
            secret_hash=hash_api_key(plain),
            scopes=sorted(set(scopes)),
            created_by=created_by,
        )
        self.session.add(key)
        await self.session.flush()
        shown = {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes)}
        await self.audit("create", key.id, after=shown)
        return key, plain

    async def revoke(self, key_id: uuid.UUID) -> ApiKey:
        key = await self.get(key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.session.flush()
            await self.audit(
                "revoke", key.id, before={"revoked_at": None}, after={"revoked_at": key.revoked_at}
            )
        return key
