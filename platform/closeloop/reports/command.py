"""What `closeloop report SLUG` and `closeloop reports rebuild SLUG` do (the click
commands are in `closeloop.cli`).

Output formats are a table, `FORMATS`: name → (module, function writing a `Summary` to a
binary stream). A format whose module is not in this build is left out of
`available_formats()`, which `--help` lists; wiring a new one in is one line here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import uuid
import zoneinfo
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, cast

import msgspec
from sqlalchemy import select

from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.errors import NotFound
from closeloop.tenancy.models import Tenant

if TYPE_CHECKING:
    from closeloop.reports.schemas import Summary
    from closeloop.settings import Settings

__all__ = ["FORMATS", "available_formats", "rebuild_command", "summary_command", "write_json"]

SummaryWriter = Callable[["Summary", IO[bytes]], None]

FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("closeloop.reports.summary_csv", "write_summary_csv"),
    "json": ("closeloop.reports.command", "write_json"),
    "xlsx": ("closeloop.reports.workbook", "write_summary_xlsx"),
    "pdf": ("closeloop.reports.pdf", "render_report_pdf"),
}


def available_formats() -> list[str]:
    """The formats whose writer is in this build."""
    return [name for name, (module, _) in FORMATS.items() if importlib.util.find_spec(module)]


def writer(name: str) -> SummaryWriter:
    module, function = FORMATS[name]
    return cast(SummaryWriter, getattr(importlib.import_module(module), function))


def write_json(summary: Summary, out: IO[bytes]) -> None:
    out.write(msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")


async def _tenant_id(factory: Any, slug: str) -> uuid.UUID:
    async with transaction(factory) as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        raise NotFound(f"no tenant {slug!r}")
    return uuid.UUID(str(tenant_id))


async def summary_command(
    app_url: str, settings: Settings, slug: str, params: dict[str, str | None]
) -> Summary:
    """Tenant SLUG's summary as the system (the whole tenant); 404/422 as the API."""
    from closeloop.reports.deps import provide_report_service
    from closeloop.reports.params import report_query

    # Up to 4 connections (2 and 2 overflow): the command's session and the summary's
    # two lanes with one to spare (closeloop.reports.lanes).
    engine = create_engine(app_url, pool_size=2)
    try:
        factory = sessionmaker(engine)
        tenant_id = await _tenant_id(factory, slug)
        async with transaction(factory, tenant_id) as session:
            tenant = await session.get(Tenant, tenant_id)
            zone = zoneinfo.ZoneInfo(tenant.timezone if tenant else "UTC")
            query = report_query(
                date_from=params.get("date_from"),
                date_to=params.get("date_to"),
                period=params.get("period"),
                group_by=params.get("group_by"),
                today=dt.datetime.now(zone).date(),
            )
            return await provide_report_service(session, None, settings).summary(query)
    finally:
        await engine.dispose()


async def rebuild_command(
    app_url: str, slug: str, date_from: dt.date | None, date_to: dt.date | None
) -> str:
    """Rebuild tenant SLUG's report facts and rollup; the line to print."""
    from closeloop.reports.rebuild import rebuild

    engine = create_engine(app_url, pool_size=1)
    try:
        factory = sessionmaker(engine)
        done = await rebuild(factory, await _tenant_id(factory, slug), date_from, date_to)
    finally:
        await engine.dispose()
    return (
        f"report facts of {slug} rebuilt: {done.cases} cases ({done.changed} changed), "
        f"{done.buckets} rollup buckets"
    )
