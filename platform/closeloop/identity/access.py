"""Who may call a route, declared on the route and checked before its handler runs.

Every route says who it is for in its `opt`:

    @get("/users", opt=access(Role.ADMIN, Role.SUPERVISOR))
    @post("/auth/login", opt=public("signing in"))
    @get("/platform/v1/tenants", opt=operator())

`access(*roles, permissions=...)` admits a tenant's user or API key holding any one of
`roles` and every one of `permissions`; `public(why)` admits anyone (the reason is
written down, so that an open route is a decision); `operator()` admits the service
operator's token. The web layer checks the declaration before the handler runs, and a
meta-test fails on a route that declares nothing.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from closeloop.errors import Forbidden
from closeloop.identity.models import Permission, Role
from closeloop.identity.principal import Principal

__all__ = [
    "ACCESS_KEY",
    "ALL_ROLES",
    "Access",
    "Audience",
    "access",
    "declared_access",
    "operator",
    "public",
]

ACCESS_KEY = "access"
ALL_ROLES: tuple[Role, ...] = tuple(Role)


class Audience(enum.StrEnum):
    TENANT = "tenant"  # a tenant's users and API keys, by role
    OPERATOR = "operator"  # the service operator's token
    PUBLIC = "public"  # anyone: sign-in, the customer portal, health, metrics


@dataclasses.dataclass(frozen=True, slots=True)
class Access:
    audience: Audience
    roles: frozenset[Role] = frozenset()
    permissions: frozenset[Permission] = frozenset()
    reason: str = ""

    def allows(self, principal: Principal) -> bool:
        return principal.has_role(*self.roles) and all(
            permission.value in principal.permissions for permission in self.permissions
        )

    def check(self, principal: Principal) -> None:
        """Refuse a tenant caller who holds none of the roles or lacks a permission."""
        if not principal.has_role(*self.roles):
            wanted = " or ".join(role.value for role in Role if role in self.roles)
            raise Forbidden(f"this needs the {wanted} role", code="role_required")
        missing = [p.value for p in self.permissions if p.value not in principal.permissions]
        if missing:
            raise Forbidden(
                f"this needs the {' and '.join(missing)} permission", code="permission_required"
            )


def access(*roles: Role, permissions: tuple[Permission, ...] = ()) -> dict[str, Any]:
    """`opt=` of a tenant route: callers holding any of `roles` and all `permissions`."""
    if not roles:
        raise ValueError("name the roles (ALL_ROLES for any member of the tenant)")
    return {
        ACCESS_KEY: Access(Audience.TENANT, frozenset(roles), frozenset(permissions)),
    }


def public(reason: str) -> dict[str, Any]:
    """`opt=` of a route anyone may call; `reason` says why it is open."""
    if not reason:
        raise ValueError("say why the route is open to anyone")
    return {ACCESS_KEY: Access(Audience.PUBLIC, reason=reason)}


def operator() -> dict[str, Any]:
    """`opt=` of a route for the service operator's token."""
    return {ACCESS_KEY: Access(Audience.OPERATOR)}


def declared_access(opt: dict[str, Any]) -> Access | None:
    """The declaration in a route's (merged) `opt`, or None when it declares nothing."""
    found = opt.get(ACCESS_KEY)
    return found if isinstance(found, Access) else None
