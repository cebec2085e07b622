"""What the audit trail keeps of a lifecycle action: a subscriber of `CaseChange`
(`closeloop.cases.subscribers`), the last one, in the action's transaction.

The entry `case.<action>` holds the diff of the case's lifecycle fields (`before` and
`after` of the change), the resolution's free text as a digest, and the id of the
action's timeline event.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import diff, digest_fields, record_on_case
from closeloop.cases.lifecycle import CaseChange
from closeloop.settings import Settings

__all__ = ["on_case_change"]

# Free text about the customer: kept as a digest (audit entries are never erased).
_DIGESTED = ("resolution",)


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    old, new = diff(change.before, change.after)
    await record_on_case(
        session,
        change.case.id,
        f"case.{change.action.value}",
        actor=change.actor,
        before=digest_fields(old, _DIGESTED),
        after={**digest_fields(new, _DIGESTED), "event_id": change.event_id},
    )
