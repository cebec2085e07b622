"""HTTP for identity: login, the caller's own profile, users and API keys (admins)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from closeloop.identity.access import ALL_ROLES, access, public
from closeloop.identity.models import ApiKey, Role, User
from closeloop.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    LoginResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from closeloop.identity.service import ApiKeyService, LoginService, UserService
from closeloop.settings import Settings
from closeloop.web.deps import Caller, DbSession

__all__ = ["ApiKeyController", "AuthController", "UserController"]


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=list(user.roles),
        permissions=list(user.permissions),
        department_id=user.department_id,
        active=user.active,
        created_at=user.created_at,
    )


def key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post("/login", status_code=200, opt=public("signing in"))
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
    ) -> LoginResponse:
        """Exchange a tenant, e-mail and password for a short-lived session token."""
        settings: Settings = request.app.state.settings
        service = LoginService(request.app.state.sessionmaker, settings)
        token, expires = await service.login(
            tenant_slug=data.tenant, email=data.email, password=data.password
        )
        return LoginResponse(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_at=expires,
        )

    @get("/me", opt=access(*ALL_ROLES))
    async def me(self, db_session: DbSession, principal: Caller) -> UserRead | ApiKeyRead:
        """The calling user, or the calling API key."""
        if principal.user_id is not None:
            return user_read(await UserService(db_session).get(principal.user_id))
        assert principal.api_key_id is not None
        return key_read(
            await ApiKeyService(db_session, principal.tenant_id).get(principal.api_key_id)
        )


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["identity"]

    @get("/", opt=access(Role.ADMIN, Role.SUPERVISOR))
    async def list_users(
        self,
        db_session: DbSession,
        principal: Caller,
        limit: int = Parameter(default=100, ge=1, le=500),
        after: str | None = Parameter(default=None, description="e-mail to continue after"),
    ) -> list[UserRead]:
        users = await UserService(db_session).list(limit=limit, after=after)
        return [user_read(u) for u in users]

    @post("/", opt=access(Role.ADMIN))
    async def create_user(
        self, db_session: DbSession, principal: Caller, data: JSONBody[UserCreate]
    ) -> UserRead:
        user = await UserService(db_session, actor=principal.actor).create(
            email=data.email,
            display_name=data.display_name,
            password=data.password,
            roles=data.roles,
            permissions=data.permissions,
            department_id=data.department_id,
        )
        return user_read(user)

    @get("/{user_id:uuid}", opt=access(Role.ADMIN, Role.SUPERVISOR))
    async def get_user(
        self, db_session: DbSession, principal: Caller, user_id: FromPath[uuid.UUID]
    ) -> UserRead:
        return user_read(await UserService(db_session).get(user_id))

    @patch("/{user_id:uuid}", opt=access(Role.ADMIN))
    async def update_user(
        self,
        db_session: DbSession,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserUpdate],
    ) -> UserRead:
        user = await UserService(db_session, actor=principal.actor).update(
            user_id,
            display_name=data.display_name,
            roles=data.roles,
            permissions=data.permissions,
            active=data.active,
            password=data.password,
            department_id=data.department_id,
        )
        return user_read(user)


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["identity"]
    opt = access(Role.ADMIN)

    @get("/")
    async def list_keys(self, db_session: DbSession, principal: Caller) -> list[ApiKeyRead]:
        return [key_read(k) for k in await ApiKeyService(db_session, principal.tenant_id).list()]

    @post("/")
    async def create_key(
        self, db_session: DbSession, principal: Caller, data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        """Create a key. The `key` in the answer is shown this once and cannot be read again."""
        keys = ApiKeyService(db_session, principal.tenant_id, actor=principal.actor)
        key, plain = await keys.create(
            name=data.name, scopes=data.scopes, created_by=principal.user_id
        )
        return ApiKeyCreated(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            key=plain,
            created_at=key.created_at,
        )

    @get("/{key_id:uuid}")
    async def get_key(
        self, db_session: DbSession, principal: Caller, key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        return key_read(await ApiKeyService(db_session, principal.tenant_id).get(key_id))

    @delete("/{key_id:uuid}", status_code=200)
    async def revoke_key(
        self, db_session: DbSession, principal: Caller, key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        """Revoke a key: it stops working at once; the record stays for the audit trail."""
        keys = ApiKeyService(db_session, principal.tenant_id, actor=principal.actor)
        return key_read(await keys.revoke(key_id))
