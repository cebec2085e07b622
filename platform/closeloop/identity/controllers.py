"""HTTP for identity: login, the caller's own profile, users and API keys (admins)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter

from closeloop.crud import read_as
from closeloop.identity.access import ALL_ROLES, access, public
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
from closeloop.web.crud import CrudController
from closeloop.web.deps import Caller

__all__ = ["ApiKeyController", "AuthController", "UserController"]

Keys = NamedDependency[ApiKeyService]


def user_read(user: User) -> UserRead:
    return read_as(UserRead, user, roles=list(user.roles), permissions=list(user.permissions))


def key_read(key: ApiKey) -> ApiKeyRead:
    return read_as(ApiKeyRead, key, scopes=list(key.scopes))


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]
    dependencies = {
        "login_service": Provide(provide_login_service, sync_to_thread=False),
        "users": Provide(provide_user_service, sync_to_thread=False),
        "keys": Provide(provide_api_key_service, sync_to_thread=False),
    }

    @post("/login", status_code=200, opt=public("signing in"))
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

    @get("/me", opt=access(*ALL_ROLES))
    async def me(
        self, principal: Caller, users: NamedDependency[UserService], keys: Keys
    ) -> UserRead | ApiKeyRead:
        """The calling user, or the calling API key."""
        if principal.user_id is not None:
            return user_read(await users.get(principal.user_id))
        assert principal.api_key_id is not None
        return key_read(await keys.get(principal.api_key_id))


class UserController(CrudController):
    """Admins and supervisors see the users; admins change them."""

    path = "/api/v1/users"
    tags = ["identity"]
    item, provider = "user", provide_user_service
    read, create_body, update_body = UserRead, UserCreate, UserUpdate
    reading, writing = access(Role.ADMIN, Role.SUPERVISOR), access(Role.ADMIN)
    list_query = {
        "limit": (int, Parameter(default=100, ge=1, le=500)),
        "after": (str | None, Parameter(default=None, description="e-mail to continue after")),
    }

    async def present(self, service: UserService, row: User) -> UserRead:
        return user_read(row)

    async def create_item(self, service: UserService, data: msgspec.Struct) -> User:
        return await service.create(**self.given(data))

    async def update_item(
        self, service: UserService, item_id: uuid.UUID, data: msgspec.Struct
    ) -> User:
        return await service.update(item_id, **self.given(data))


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["identity"]
    opt = access(Role.ADMIN)
    dependencies = {"keys": Provide(provide_api_key_service, sync_to_thread=False)}

    @get("/")
    async def list_keys(self, keys: Keys) -> list[ApiKeyRead]:
        return [key_read(k) for k in await keys.list()]

    @post("/")
    async def create_key(
        self, principal: Caller, keys: Keys, data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        """Create a key. The `key` in the answer is shown this once and cannot be read again."""
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
    async def get_key(self, keys: Keys, key_id: FromPath[uuid.UUID]) -> ApiKeyRead:
        return key_read(await keys.get(key_id))

    @delete("/{key_id:uuid}", status_code=200)
    async def revoke_key(self, keys: Keys, key_id: FromPath[uuid.UUID]) -> ApiKeyRead:
        """Revoke a key: it stops working at once; the record stays for the audit trail."""
        return key_read(await keys.revoke(key_id))
