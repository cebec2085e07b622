"""HTTP for identity: login, the caller's own profile, users and API keys (admins)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter

from closeloop.identity.deps import (
    provide_api_key_service,
    provide_login_service,
    provide_user_service,
)
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
from closeloop.web.deps import Caller

__all__ = ["ApiKeyController", "AuthController", "UserController"]

Users = NamedDependency[UserService]
ApiKeys = NamedDependency[ApiKeyService]


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
    dependencies = {
        "login_service": Provide(provide_login_service, sync_to_thread=False),
        "users": Provide(provide_user_service, sync_to_thread=False),
        "api_keys": Provide(provide_api_key_service, sync_to_thread=False),
    }

    @post("/login", status_code=200)
    async def login(
        self, login_service: NamedDependency[LoginService], data: JSONBody[LoginRequest]
    ) -> LoginResponse:
        """Exchange a tenant, e-mail and password for a short-lived session token."""
        token, expires = await login_service.login(
            tenant_slug=data.tenant, email=data.email, password=data.password
        )
        return LoginResponse(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_at=expires,
        )

    @get("/me")
    async def me(self, principal: Caller, users: Users, api_keys: ApiKeys) -> UserRead | ApiKeyRead:
        """The calling user, or the calling API key."""
        if principal.user_id is not None:
            return user_read(await users.get(principal.user_id))
        assert principal.api_key_id is not None
        return key_read(await api_keys.get(principal.api_key_id))


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["identity"]
    dependencies = {"users": Provide(provide_user_service, sync_to_thread=False)}

    @get("/")
    async def list_users(
        self,
        principal: Caller,
        users: Users,
        limit: int = Parameter(default=100, ge=1, le=500),
        after: str | None = Parameter(default=None, description="e-mail to continue after"),
    ) -> list[UserRead]:
        principal.require(Role.ADMIN, Role.SUPERVISOR)
        return [user_read(u) for u in await users.list(limit=limit, after=after)]

    @post("/")
    async def create_user(
        self, principal: Caller, users: Users, data: JSONBody[UserCreate]
    ) -> UserRead:
        principal.require(Role.ADMIN)
        user = await users.create(
            email=data.email,
            display_name=data.display_name,
            password=data.password,
            roles=data.roles,
            permissions=data.permissions,
            department_id=data.department_id,
        )
        return user_read(user)

    @get("/{user_id:uuid}")
    async def get_user(
        self, principal: Caller, users: Users, user_id: FromPath[uuid.UUID]
    ) -> UserRead:
        principal.require(Role.ADMIN, Role.SUPERVISOR)
        return user_read(await users.get(user_id))

    @patch("/{user_id:uuid}")
    async def update_user(
        self,
        principal: Caller,
        users: Users,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserUpdate],
    ) -> UserRead:
        principal.require(Role.ADMIN)
        user = await users.update(
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
    dependencies = {"api_keys": Provide(provide_api_key_service, sync_to_thread=False)}

    @get("/")
    async def list_keys(self, principal: Caller, api_keys: ApiKeys) -> list[ApiKeyRead]:
        principal.require(Role.ADMIN)
        return [key_read(k) for k in await api_keys.list()]

    @post("/")
    async def create_key(
        self, principal: Caller, api_keys: ApiKeys, data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        """Create a key. The `key` in the answer is shown this once and cannot be read again."""
        principal.require(Role.ADMIN)
        key, plain = await api_keys.create(
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
        self, principal: Caller, api_keys: ApiKeys, key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        principal.require(Role.ADMIN)
        return key_read(await api_keys.get(key_id))

    @delete("/{key_id:uuid}", status_code=200)
    async def revoke_key(
        self, principal: Caller, api_keys: ApiKeys, key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        """Revoke a key: it stops working at once; the record stays for the audit trail."""
        principal.require(Role.ADMIN)
        return key_read(await api_keys.revoke(key_id))
