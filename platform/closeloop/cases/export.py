"""Case exports: the case list's filters as a CSV or XLSX file, streamed without a cap.

Customer data is masked in an export unless the caller holds `pii` and asks for it
(`pii=True`): a file leaves the system's access control, so plaintext must be a
decision, and it is audited (`case.export_pii`, with the format and the filters) in
the request's transaction before a row is read.

The rows are read after the request's transaction has committed, while the response
is sent: the body opens its own read-only transaction on a snapshot (REPEATABLE READ,
so the keyset pages of `list_cases` see one state of the cases however long the
download takes), bound to the caller's tenant, and writes each page as it comes
(`closeloop.exports`): memory stays flat whatever the number of cases.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.audit.service import record
from closeloop.cases.listing import MAX_LIMIT, CaseFilters, check_filter_ids, list_cases
from closeloop.cases.models import Case, Customer
from closeloop.db import tenant_scope
from closeloop.errors import Forbidden
from closeloop.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, stream_csv, stream_xlsx
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
from closeloop.pii.cipher import cipher_for, mask_email, mask_name, mask_phone
from closeloop.settings import Settings

__all__ = ["COLUMNS", "EXPORT_FORMATS", "EXPORT_ROLES", "CaseExport", "CaseExportService"]

EXPORT_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.AGENT, Role.VIEWER)
EXPORT_FORMATS = ("csv", "xlsx")
COLUMNS = (
    "number", "kind", "status", "channel", "received_at", "title", "category", "severity",
    "escalation_level", "handler_id", "due", "is_repeat",
    "customer_nickname", "customer_name", "customer_phone", "customer_email",
)  # fmt: skip
_CONTACT = (("name", mask_name), ("phone", mask_phone), ("email", mask_email))
_NO_CUSTOMER: tuple[str | None, ...] = (None, None, None, None)


@dataclasses.dataclass(frozen=True, slots=True)
class CaseExport:
    """An export ready to send: its file name, media type and body (read when sent)."""

    filename: str
    media_type: str
    body: AsyncIterator[bytes]


@contextlib.asynccontextmanager
async def _snapshot(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """A read-only transaction on one snapshot of the database, bound to `tenant_id`."""
    async with sessions() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        await tenant_scope(session, tenant_id)
        yield session


class CaseExportService:
    """Exports of the bound tenant's cases, as the caller may see them.

    `sessions` opens the transaction the body is read in (the request's own has ended
    by then); the app's session factory.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        principal: Principal,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings
        self.sessions = sessions

    async def open(self, filters: CaseFilters | None, *, fmt: str, pii: bool = False) -> CaseExport:
        """The export of the cases matching `filters` (None: filters nothing can match,
        the header alone); `pii`: customer data in clear (403 `permission_required`
        without the `pii` permission; audited). A filter naming an id the tenant has not
        is 404 here, before the stream starts."""
        if filters is not None:
            await check_filter_ids(self.session, filters)
        if pii:
            if not self.principal.may_see_pii:
                raise Forbidden(
                    "customer data in clear (pii) needs the pii permission",
                    code="permission_required",
                    field="pii",
                )
            await record(
                self.session,
                actor=self.principal.actor,
                action="case.export_pii",
                entity_type="case",
                after={"format": fmt, "filters": _filters_shape(filters or CaseFilters())},
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        rows = self.rows(filters, pii=pii)
        if fmt == "xlsx":
            body = stream_xlsx(COLUMNS, rows, sheet="cases")
            return CaseExport(f"cases-{stamp}.xlsx", XLSX_MEDIA_TYPE, body)
        return CaseExport(f"cases-{stamp}.csv", CSV_MEDIA_TYPE, stream_csv(COLUMNS, rows))

    async def rows(self, filters: CaseFilters | None, *, pii: bool) -> AsyncIterator[list[Any]]:
        """The matching cases as rows of `COLUMNS`, newest received first, read page by
        page (keyset) in a snapshot transaction of their own."""
        if filters is None:
            return
        async with _snapshot(self.sessions, self.principal.tenant_id) as session:
            cursor: str | None = None
            while True:
                cases, cursor = await list_cases(session, filters, limit=MAX_LIMIT, cursor=cursor)
                customers = await _customers(session, self.settings, cases, pii=pii)
                for case in cases:
                    yield [
                        case.number, case.kind, case.status, case.channel, case.received_at,
                        case.title, case.category_code, case.severity_code,
                        case.escalation_level, case.handler_id, case.due_at, case.is_repeat,
                        *customers.get(case.customer_id, _NO_CUSTOMER),
                    ]  # fmt: skip
                if cursor is None:
                    return


async def _customers(
    session: AsyncSession, settings: Settings, cases: Sequence[Case], *, pii: bool
) -> dict[uuid.UUID | None, tuple[str | None, ...]]:
    """Nickname, name, phone and e-mail of the cases' customers, masked unless `pii`."""
    wanted = {case.customer_id for case in cases if case.customer_id is not None}
    if not wanted:
        return {}
    found = (await session.scalars(select(Customer).where(Customer.id.in_(wanted)))).all()
    cipher = None
    shown: dict[uuid.UUID | None, tuple[str | None, ...]] = {}
    for customer in found:
        cells: list[str | None] = [customer.nickname]
        for field, mask in _CONTACT:
            blob = getattr(customer, f"{field}_enc")
            if blob is None:
                cells.append(None)
                continue
            cipher = cipher or await cipher_for(session, settings)
            plain = cipher.decrypt(blob)
            cells.append(plain if pii else mask(plain))
        shown[customer.id] = tuple(cells)
    return shown


def _filters_shape(filters: CaseFilters) -> dict[str, Any]:
    """The filters an export was asked with, as the audit entry keeps them."""
    shape: dict[str, Any] = {}
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        if isinstance(value, dt.datetime | uuid.UUID):
            value = str(value)
        shape[field.name] = list(value) if isinstance(value, list | tuple) else value
    return shape
