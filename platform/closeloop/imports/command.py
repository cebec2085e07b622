"""`closeloop cases import SLUG FILE --mapping MAPPING`: an import run in this process.

The same writer as the API's background run (`closeloop.imports.writer`); the report
printed at the end gives the counts, the detected encoding and delimiter, and the first
row errors (all of them: `GET /api/v1/imports/{id}/errors.csv`, or `--errors FILE`).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import select

from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.errors import NotFound
from closeloop.imports.mapping import SHIPPED, Mapping, load_mapping, shipped_mapping
from closeloop.imports.models import ImportRun
from closeloop.imports.records import error_report_csv
from closeloop.imports.service import ImportService, import_file
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant

__all__ = ["cli_mapping", "import_command", "report"]

_SHOWN_ERRORS = 20


def cli_mapping(given: str) -> Mapping:
    """A shipped mapping's name, else a mapping file's path (raises `MappingError`)."""
    if given in SHIPPED and not Path(given).exists():
        return shipped_mapping(given)
    return load_mapping(given)


async def import_command(
    app_url: str,
    settings: Settings,
    *,
    slug: str,
    path: Path,
    mapping: Mapping,
    dry_run: bool,
    encoding: str | None,
    sheet: str | None,
    errors_to: Path | None,
) -> tuple[ImportRun, str]:
    """Run the import; answer the run and the printed report."""
    engine = create_engine(app_url, pool_size=2)
    try:
        factory = sessionmaker(engine)
        async with transaction(factory) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            raise NotFound(f"no tenant {slug!r}")
        run = await import_file(
            factory,
            settings,
            tenant_id=uuid.UUID(str(tenant_id)),
            actor="cli",
            source=path,
            file_name=path.name,
            mapping=mapping,
            dry_run=dry_run,
            encoding=encoding,
            sheet=sheet,
        )
        async with transaction(factory, run.tenant_id) as session:
            errors = await ImportService(session, actor="cli", settings=settings).errors(run.id)
    finally:
        await engine.dispose()
    if errors_to is not None:
        await asyncio.to_thread(errors_to.write_text, error_report_csv(errors), encoding="utf-8")
    lines = [report(run)]
    for error in errors[:_SHOWN_ERRORS]:
        lines.append(f"  row {error.row}, {error.column or '-'}: {error.value!r}: {error.reason}")
    if len(errors) > _SHOWN_ERRORS:
        lines.append(f"  ... {len(errors) - _SHOWN_ERRORS} more")
    return run, "\n".join(lines)


def report(run: ImportRun) -> str:
    what = "dry run" if run.dry_run else "import"
    head = f"{what} {run.id} {run.status}: {run.file_name} with mapping {run.mapping}"
    if run.failure:
        return f"{head}\n  {run.failure}"
    read = f"{run.format or '?'}"
    if run.encoding:
        read += f", {run.encoding} ({run.encoding_source}), delimiter {run.delimiter!r}"
    verb = "would be created" if run.dry_run else "created"
    return (
        f"{head} ({read})\n"
        f"  rows {run.rows}: {run.created} {verb}, {run.updated} updated, "
        f"{run.unchanged} unchanged, {run.errors} with errors"
        + ("\n  no changes" if run.created == run.updated == 0 else "")
    )
