"""How to get a case service: one provider per service, the only way to build one.

Every service takes the same shape, `Service(session, *, principal=..., settings=...)`.
The providers below are Litestar dependencies (their parameters are the app's
`db_session`, `principal` and `settings`) and plain functions: an API or console handler
declares the service as a parameter (`actions: NamedDependency[CaseActionService]`,
registered in the controller's `dependencies`), and an actor, the CLI or another
service calls the same function with its own session, principal and settings.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from closeloop.cases.actions import CaseActionService
from closeloop.cases.attachments import AttachmentService
from closeloop.cases.editing import CaseService
from closeloop.cases.export import CaseExportService
from closeloop.cases.intake import IntakeService
from closeloop.cases.record_sheet import RecordSheetService
from closeloop.cases.timeline import TimelineService
from closeloop.providers import AppSettings, Caller, Session, as_caller
from closeloop.storage import AttachmentStorage, storage_from_settings

__all__ = [
    "provide_attachments",
    "provide_case_actions",
    "provide_case_export",
    "provide_case_intake",
    "provide_case_service",
    "provide_public_intake",
    "provide_record_sheet",
    "provide_storage",
    "provide_timeline",
]

# A protocol: nothing to validate, and msgspec could not.
Storage = NamedDependency[SkipValidation[AttachmentStorage]]

provide_case_service = as_caller(CaseService, "provide_case_service")
provide_case_intake = as_caller(IntakeService, "provide_case_intake")
provide_case_actions = as_caller(CaseActionService, "provide_case_actions")
provide_timeline = as_caller(TimelineService, "provide_timeline")
provide_record_sheet = as_caller(RecordSheetService, "provide_record_sheet")


def provide_public_intake(db_session: Session, settings: AppSettings) -> IntakeService:
    """Register cases from the public form (no principal; audited as `public`)."""
    return IntakeService(db_session, principal=None, settings=settings)


def provide_storage(state: State) -> AttachmentStorage:
    """The app's attachment storage (`state.attachment_storage` if set, else local disk)."""
    storage: AttachmentStorage | None = state.get("attachment_storage")
    if storage is None:
        storage = storage_from_settings(state.settings)
        state.attachment_storage = storage
    return storage


def provide_attachments(
    db_session: Session, principal: Caller, settings: AppSettings, storage: Storage
) -> AttachmentService:
    """Add, list and fetch a case's attachments as `principal`."""
    return AttachmentService(db_session, principal=principal, settings=settings, storage=storage)


def provide_case_export(
    db_session: Session, principal: Caller, settings: AppSettings, state: State
) -> CaseExportService:
    """Case exports as `principal`; the body is read on the app's session factory."""
    return CaseExportService(
        db_session, principal=principal, settings=settings, sessions=state.sessionmaker
    )
