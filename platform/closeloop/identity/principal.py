"""Who is calling: a user with a session token, or a tenant API key."""

from __future__ import annotations

import dataclasses
import uuid

from closeloop.identity.models import Permission, Role, User

__all__ = ["Principal"]


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: uuid.UUID
    roles: frozenset[str]
    permissions: frozenset[str]
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    @classmethod
    def for_user(cls, user: User) -> Principal:
        """The user acting with their own roles and permissions (work done for them off
        the request path: the demo's cases, their report e-mails)."""
        return cls(
            tenant_id=user.tenant_id,
            roles=frozenset(user.roles),
            permissions=frozenset(user.permissions),
            user_id=user.id,
        )

    @property
    def actor(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"api_key:{self.api_key_id}"

    def has_role(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)

    @property
    def may_see_pii(self) -> bool:
        return Permission.PII.value in self.permissions
