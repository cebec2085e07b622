"""The console's main navigation: only the links the signed-in user's roles open.

Each link names the roles of the route it leads to (the same roles the page's
`opt=access(...)` declares), so a link is never offered to someone the page refuses.
"""

from __future__ import annotations

import dataclasses

from closeloop.console.i18n import N_
from closeloop.console.sessions import ConsoleUser
from closeloop.identity.access import ALL_ROLES
from closeloop.identity.models import Role

__all__ = ["NAV_LINKS", "NavLink", "nav_links"]


@dataclasses.dataclass(frozen=True, slots=True)
class NavLink:
    href: str
    label: str  # N_ message, translated by the template
    icon: str
    roles: tuple[Role, ...]
    key: str  # the keyboard shortcut's second key ("g" then this)
    section: str = ""  # the pages below this path are this link's too (default: href)

    def leads_to(self, path: str) -> bool:
        """Whether the page at `path` is this link's (the menu marks it)."""
        section = self.section or self.href
        return path == self.href or path.startswith(section.rstrip("/") + "/")


NAV_LINKS = (
    NavLink(
        "/console/cases/new",
        N_("Register"),
        "plus",
        (Role.AGENT, Role.SUPERVISOR, Role.ADMIN),
        "n",
    ),
    NavLink("/console/queues/mine", N_("Queues"), "list", ALL_ROLES, "q", "/console/queues"),
    NavLink("/console/board", N_("Board"), "chart-bar", (Role.SUPERVISOR, Role.ADMIN), "b"),
    NavLink(
        "/console/followups",
        N_("Follow-ups"),
        "phone",
        (Role.FOLLOWUP, Role.SUPERVISOR, Role.ADMIN),
        "f",
    ),
    NavLink(
        "/console/reports",
        N_("Reports"),
        "chart-pie",
        (Role.ADMIN, Role.SUPERVISOR, Role.VIEWER),
        "r",
    ),
    NavLink("/console/inbox", N_("Inbox"), "inbox", ALL_ROLES, "i"),
    NavLink("/console/imports", N_("Import"), "upload", (Role.ADMIN,), "m"),
)


def nav_links(viewer: ConsoleUser) -> list[NavLink]:
    """The links `viewer` may follow, in the menu's order."""
    return [link for link in NAV_LINKS if viewer.principal.has_role(*link.roles)]
