"""`closeloop report SLUG --period 2026-10` and `closeloop reports rebuild SLUG`.

The summary is the one `ReportService` answers the API, as the system (the whole
tenant). Output formats are a table of writers (`FORMATS`, name → function writing a
`Summary` to a binary stream); a format whose module is not installed in this build is
left out, and `--help` lists the ones available.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click
import msgspec
from sqlalchemy import select

from closeloop.reports.schemas import Summary
from closeloop.reports.summary_csv import write_summary_csv

__all__ = ["FORMATS", "report", "reports"]

SummaryWriter = Callable[[Summary, IO[bytes]], None]


def _write_json(summary: Summary, out: IO[bytes]) -> None:
    out.write(msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")


FORMATS: dict[str, SummaryWriter] = {"csv": write_summary_csv, "json": _write_json}
# Formats written by other modules: (format, module, function). Wired in when present.
OPTIONAL_FORMATS = (
    ("xlsx", "closeloop.reports.workbook", "write_summary_xlsx"),
    ("pdf", "closeloop.reports.pdf", "render_report_pdf"),
)
for _name, _module, _function in OPTIONAL_FORMATS:
    with contextlib.suppress(ImportError, AttributeError):
        FORMATS[_name] = getattr(importlib.import_module(_module), _function)


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a date such as 2026-10-01", param_hint=name) from None


async def _summary(app_url: str, slug: str, params: dict[str, str | None]) -> Summary:
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.errors import NotFound
    from closeloop.reports.deps import provide_report_service
    from closeloop.reports.params import report_query
    from closeloop.settings import load_settings
    from closeloop.tenancy.models import Tenant

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            raise NotFound(f"no tenant {slug!r}")
        async with transaction(sessionmaker(engine), tenant_id) as session:
            service = provide_report_service(session, None, load_settings())
            return await service.summary(report_query(**params))
    finally:
        await engine.dispose()


@click.command("report")
@click.argument("slug")
@click.option("--period", help="2026-10 (a month), 2026-W41 (a week), 2026-10-03 or 2026")
@click.option("--from", "date_from", help="first day (instead of --period)")
@click.option("--to", "date_to", help="last day, inclusive")
@click.option("--group-by", help="day, week, month, or a dimension (channel, category, ...)")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="csv",
    show_default=True,
    help=f"available in this build: {', '.join(sorted(FORMATS))}",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: stdout")
def report(
    slug: str,
    period: str | None,
    date_from: str | None,
    date_to: str | None,
    group_by: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """The report of tenant SLUG over a period (every metric of docs/reports.md, with
    the previous period), as the whole tenant sees it."""
    from closeloop.cli import _database, _settings
    from closeloop.errors import ApiError, NotFound

    params = {"date_from": date_from, "date_to": date_to, "period": period, "group_by": group_by}
    with _database(_settings()) as app_url:
        try:
            summary = asyncio.run(_summary(app_url, slug, params))
        except NotFound as exc:
            click.echo(f"closeloop: {exc.message}", err=True)
            sys.exit(2)
        except ApiError as exc:
            fields = ", ".join(str(f.get("field")) for f in (exc.details or {}).get("fields", []))
            click.echo(f"closeloop: {exc.message} ({fields})", err=True)
            sys.exit(2)
    if out is None:
        FORMATS[fmt](summary, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with out.open("wb") as stream:
        FORMATS[fmt](summary, stream)
    click.echo(f"report of {slug} written to {out}", err=True)


@click.group("reports")
def reports() -> None:
    """The report facts and the daily rollup."""


async def _rebuild(
    app_url: str, slug: str, date_from: dt.date | None, date_to: dt.date | None
) -> str:
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.errors import NotFound
    from closeloop.reports.rebuild import rebuild
    from closeloop.tenancy.models import Tenant

    engine = create_engine(app_url, pool_size=1)
    try:
        factory = sessionmaker(engine)
        async with transaction(factory) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            raise NotFound(f"no tenant {slug!r}")
        done = await rebuild(factory, tenant_id, date_from, date_to)
    finally:
        await engine.dispose()
    return (
        f"report facts of {slug} rebuilt: {done.cases} cases ({done.changed} changed), "
        f"{done.buckets} rollup buckets"
    )


@reports.command("rebuild")
@click.argument("slug")
@click.option("--from", "date_from", help="first day of received cases (default: all)")
@click.option("--to", "date_to", help="last day, inclusive (default: all)")
def rebuild_command(slug: str, date_from: str | None, date_to: str | None) -> None:
    """Recompute the facts of tenant SLUG's cases received in the range, and the
    rollup of those days (docs/reports.md)."""
    from closeloop.cli import _database, _settings
    from closeloop.errors import NotFound

    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    if first is not None and last is not None and last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with _database(_settings()) as app_url:
        try:
            click.echo(asyncio.run(_rebuild(app_url, slug, first, last)))
        except NotFound as exc:
            click.echo(f"closeloop: {exc.message}", err=True)
            sys.exit(2)
