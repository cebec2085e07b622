"""How to get the follow-up services: one provider per service.

`FollowupService(session, *, actor=..., settings=...)` and
`FollowupQueue(session, *, principal=..., settings=...)`; the providers are Litestar
dependencies (parameters `db_session`, `principal`, `settings`). The lifecycle hook and
the actors, which have no caller, call the constructor with their actor name.
"""

from __future__ import annotations

from closeloop.followups.queue import FollowupQueue
from closeloop.followups.service import FollowupService
from closeloop.providers import as_caller, audited_as_caller

__all__ = ["provide_followup_queue", "provide_followup_service"]

provide_followup_service = audited_as_caller(FollowupService, "provide_followup_service")
provide_followup_queue = as_caller(FollowupQueue, "provide_followup_queue")
