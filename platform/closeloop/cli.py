"""The `closeloop` command line (DESIGN §5)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from closeloop.logs import configure_logging, get_logger
from closeloop.settings import MAX_WORKERS, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from closeloop.audit.service import ChainReport
    from closeloop.config.files import ChangeSet, TenantFile
    from closeloop.demo import DemoLogins

__all__ = ["main"]

log = get_logger(__name__)

APP_ROLE = "closeloop_app"

_T = TypeVar("_T")
_A = TypeVar("_A")


def _fail(message: str, *, status: int = 1) -> NoReturn:
    """Say what went wrong on standard error and exit with `status`."""
    click.echo(message, err=True)
    sys.exit(status)


def _given(read: Callable[[_A], _T], given: _A, refused: type[Exception]) -> _T:
    """`read(given)`: what a command was given, read before it touches the database; a
    `refused` one exits 1 saying why."""
    try:
        return read(given)
    except refused as exc:
        _fail(f"closeloop: {exc}")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(f"closeloop: setting error: {exc}", status=2)
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    return settings


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """Yield the application URL with the schema up to date; embedded when no DATABASE_URL."""
    from closeloop import migrate

    if settings.database_url is not None:
        # The application role owns nothing and cannot migrate; without an owner URL the
        # schema is the deployment's business (`closeloop db upgrade` as a release step).
        if settings.database_owner_url is not None:
            migrate.upgrade(settings.database_owner_url, migrate.role_of(settings.database_url))
        yield settings.database_url
        return

    from closeloop.embedded import EmbeddedPostgres
    from closeloop.provision import provision

    server = EmbeddedPostgres(settings.data_dir)
    click.echo(f"Starting the embedded PostgreSQL in {server.pgdata} ...", err=True)
    with _sigterm_as_ctrl_c():
        superuser_url = server.start()
        try:
            urls = asyncio.run(provision(superuser_url, app_role=APP_ROLE))
            migrate.upgrade(urls.owner_url, APP_ROLE)
            yield urls.app_url
        finally:
            click.echo("Stopping the embedded PostgreSQL ...", err=True)
            server.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While the embedded server runs, SIGTERM stops everything the way Ctrl-C does.

    Python's default SIGTERM action ends the process at once, skipping the `finally`
    that stops PostgreSQL. uvicorn handles SIGTERM itself while serving (a graceful
    shutdown, the in-process worker included), then raises the signal again for the
    handler it found; this one turns it into the KeyboardInterrupt that uvicorn and
    the `finally` above expect from Ctrl-C.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _check_role(app_url: str) -> None:
    from closeloop.db import create_engine
    from closeloop.provision import check_app_role

    engine = create_engine(app_url, pool_size=1)
    try:
        await check_app_role(engine)
    finally:
        await engine.dispose()


def _serve(settings: Settings, app_url: str, host: str, port: int, *, workers: int = 1) -> None:
    import uvicorn

    from closeloop.provision import UnsafeAppRole
    from closeloop.web.app import create_app

    # The app checks this at start-up too; here it fails with one line instead of a traceback.
    try:
        asyncio.run(_check_role(app_url))
    except UnsafeAppRole as exc:
        _fail(f"closeloop: refusing to start: {exc}", status=2)
    except OSError as exc:
        _fail(f"closeloop: cannot reach the database (DATABASE_URL): {exc}", status=2)
    if workers > 1:
        # uvicorn binds the port here and spawns the processes; each one builds the app
        # from the same environment (`_require_shared_services` made sure it has a broker
        # and a database server, so the app URL is DATABASE_URL).
        uvicorn.run(
            "closeloop.web.app:create_app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
        )
        return
    # Without BROKER_URL the app process runs the worker, relay and scheduler itself.
    app = create_app(settings, database_url=app_url, background=settings.broker_url is None)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def _require_shared_services(settings: Settings, workers: int) -> None:
    """Several app processes share a database server and leave background work to a broker."""
    missing = []
    if settings.database_url is None:
        missing.append("DATABASE_URL (the embedded PostgreSQL serves one app process)")
    if settings.broker_url is None:
        missing.append(
            "BROKER_URL (without it every app process would run the worker, relay and "
            "scheduler itself)"
        )
    if missing:
        click.echo(
            f"closeloop: setting error: serving with {workers} workers (--workers, "
            f"CLOSELOOP_WORKERS) needs {' and '.join(missing)}",
            err=True,
        )
        sys.exit(2)


@click.group()
@click.version_option(package_name="closeloop")
def main() -> None:
    """Closeloop: complaints and after-sales service, from first contact to the follow-up."""


@main.command()
@click.option("--host", default=None, help="interface to listen on (default CLOSELOOP_HOST)")
@click.option("--port", default=None, type=int, help="port (default CLOSELOOP_PORT)")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, MAX_WORKERS),
    help="app processes (default CLOSELOOP_WORKERS); more than one needs DATABASE_URL "
    "and BROKER_URL",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API. Without DATABASE_URL, on the embedded PostgreSQL."""
    settings = _settings()
    workers = workers or settings.workers
    if workers > 1:
        _require_shared_services(settings, workers)
    with _database(settings) as app_url:
        _serve(settings, app_url, host or settings.host, port or settings.port, workers=workers)


@main.command()
@click.option("--host", default=None, help="interface to listen on (default 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default 8000)")
def demo(host: str | None, port: int | None) -> None:
    """Embedded database, demo tenants loaded; prints the URL and logins. Ctrl-C stops it all.

    Besides the `demo` tenant, the industry tenants of the repository's `tenants/*.toml`
    (manufacturer, retailer, internet service) are applied, idempotently."""
    settings = _settings()
    if settings.database_url is not None:
        _fail("closeloop demo runs on the embedded database; unset DATABASE_URL", status=2)
    if settings.operator_token is None:
        settings = dataclasses.replace(settings, operator_token=secrets.token_urlsafe(24))
    host = host or settings.host
    port = port or settings.port
    with _database(settings) as app_url:
        from closeloop.demo import DEMO_PASSWORD, DEMO_TENANT

        logins = asyncio.run(_seed_demo(app_url))
        industries = asyncio.run(_apply_demo_tenants(app_url, settings))
        slugs = [DEMO_TENANT, *(slug for slug, _, _ in industries)]
        started = time.monotonic()
        seeded = asyncio.run(_seed_demo_cases(app_url, settings, slugs))
        log.info(
            "demo cases loaded",
            seconds=round(time.monotonic() - started, 1),
            cases={slug: sum(made.values()) for slug, made in seeded.items()},
        )
        url = f"http://{host}:{port}"
        lines = [
            "",
            f"Open the staff console: {url}/console/",
            f"Closeloop is running at {url}",
            f"  API schema:   {url}/schema",
            f"  Tenant:       {DEMO_TENANT}",
            *(
                f"  Login:        {email} / {DEMO_PASSWORD}   ({role})"
                for role, email in logins.roles
            ),
            *_manager_lines(logins),
            *_industry_lines(industries),
            f"  Operator:     Bearer {settings.operator_token}",
            "Press Ctrl-C to stop.",
            "",
        ]
        click.echo("\n".join(lines))
        sys.stdout.flush()
        _serve(settings, app_url, host, port)


async def _seed_demo_cases(
    app_url: str, settings: Settings, slugs: list[str]
) -> dict[str, Counter[str]]:
    from closeloop.db import create_engine, sessionmaker
    from closeloop.demo import seed_demo_cases

    engine = create_engine(app_url, pool_size=len(slugs))
    try:
        return await seed_demo_cases(sessionmaker(engine), settings, slugs)
    finally:
        await engine.dispose()


async def _seed_demo(app_url: str) -> DemoLogins:
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.demo import seed_demo

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            return await seed_demo(session)
    finally:
        await engine.dispose()


# ---- background work -------------------------------------------------------------------


def _require_services(settings: Settings, command: str) -> None:
    if settings.broker_url is None or settings.database_url is None:
        click.echo(
            f"closeloop: setting error: {command} needs BROKER_URL and DATABASE_URL; without "
            "BROKER_URL, `closeloop serve` and `closeloop demo` run the background work in-process",
            err=True,
        )
        sys.exit(2)


@main.command()
def worker() -> None:
    """Run Dramatiq actors from BROKER_URL until Ctrl-C (a retried message waits its backoff)."""
    from closeloop.queue.commands import run_worker_process

    _run_process("closeloop worker", run_worker_process)


@main.command()
def scheduler() -> None:
    """Relay the outbox to BROKER_URL and enqueue the periodic sweeps, until Ctrl-C."""
    from closeloop.queue.commands import run_scheduler_process

    _run_process("closeloop scheduler", run_scheduler_process)


def _run_process(command: str, run: Callable[[Settings, str], None]) -> None:
    """A long-running process that needs the broker and the database, schema up to date."""
    settings = _settings()
    _require_services(settings, command)
    with _database(settings) as app_url:
        run(settings, app_url)


@main.group("dead-letters")
def dead_letters() -> None:
    """Messages that failed for good (retries exhausted, never retried, or too old)."""


@dead_letters.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def dead_letters_list(limit: int) -> None:
    """Newest first, across tenants: time, tenant, actor, reason, retries, message id, error."""
    from closeloop.queue.commands import dead_letters as read_dead_letters

    settings = _settings()
    with _database(settings) as app_url:
        letters = asyncio.run(read_dead_letters(app_url, limit=limit))
    if not letters:
        click.echo("no dead letters")
        return
    for letter in letters:
        first_line = letter.error.splitlines()[0] if letter.error else ""
        click.echo(
            f"{letter.created_at.isoformat(timespec='seconds')}  {letter.tenant}  "
            f"{letter.actor_name}  {letter.reason}  retries={letter.retries}  "
            f"{letter.message_id}  {first_line}"
        )


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations as the owner role (DATABASE_OWNER_URL), granting DATABASE_URL's role."""
    from closeloop import migrate

    settings = _settings()
    if settings.database_url is None:
        with _database(settings):
            pass
        click.echo("embedded database is up to date")
        return
    if settings.database_owner_url is None:
        click.echo(
            "closeloop: setting error: DATABASE_OWNER_URL is required to run migrations "
            "(the DATABASE_URL role owns nothing)",
            err=True,
        )
        sys.exit(2)
    migrate.upgrade(settings.database_owner_url, migrate.role_of(settings.database_url), revision)
    click.echo(f"database upgraded to {revision}")


@db.command("provision")
@click.argument("superuser_url")
@click.option("--database", default="closeloop", show_default=True)
@click.option("--owner-role", default="closeloop_owner", show_default=True)
@click.option("--app-role", default=APP_ROLE, show_default=True)
def db_provision(superuser_url: str, database: str, owner_role: str, app_role: str) -> None:
    """Create the database, its owner role and the application role (needs a superuser URL)."""
    from closeloop.provision import provision

    _settings()
    urls = asyncio.run(
        provision(superuser_url, database=database, owner_role=owner_role, app_role=app_role)
    )
    click.echo(f"DATABASE_OWNER_URL={urls.owner_url}\nDATABASE_URL={urls.app_url}")


@main.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.argument("slug")
def audit_verify(slug: str) -> None:
    """Recompute tenant SLUG's audit chain; exit 1 naming the first broken entry."""
    report = _on_tenant(slug, _verify_audit, missing=LookupError)
    if report.ok:
        click.echo(f"audit chain of {slug}: ok, {report.entries} entries")
        return
    click.echo(
        f"audit chain of {slug} is BROKEN at entry seq {report.broken_at_seq} "
        f"(id {report.entry_id}): {report.reason}; {report.entries} entries before it verify",
        err=True,
    )
    sys.exit(1)


def _on_tenant(
    slug: str,
    run: Callable[[str, str], Coroutine[Any, Any, _T]],
    *,
    missing: type[Exception],
) -> _T:
    """`run(app_url, slug)` on the database; exit 2 naming SLUG when `missing` says there
    is no such tenant."""
    with _database(_settings()) as app_url:
        try:
            return asyncio.run(run(app_url, slug))
        except missing:
            _fail(f"closeloop: no tenant {slug!r}", status=2)


async def _verify_audit(app_url: str, slug: str) -> ChainReport:
    from closeloop.audit.service import verify
    from closeloop.db import create_engine, sessionmaker, tenant_scope, transaction
    from closeloop.errors import NotFound
    from closeloop.tenancy.service import TenantService

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            try:
                tenant = await TenantService(session).by_slug(slug)
            except NotFound:
                raise LookupError(slug) from None
            await tenant_scope(session, tenant.id)
            return await verify(session)
    finally:
        await engine.dispose()


# ---- tenants as files -------------------------------------------------------------------

DEMO_TENANT_FILES = ("manufacturer.toml", "retailer.toml", "internet.toml")


def _tenants_dir() -> Path | None:
    """The repository's `tenants/` folder (next to `platform/`), when installed from it."""
    folder = Path(__file__).resolve().parents[2] / "tenants"
    return folder if folder.is_dir() else None


async def _apply_demo_tenants(app_url: str, settings: Settings) -> list[tuple[str, str, list[str]]]:
    """Apply the shipped industry tenants; (slug, file name, user e-mails) of each."""
    from closeloop.config.files import load_tenant_file

    folder = _tenants_dir()
    if folder is None:
        click.echo("closeloop: no tenants/ folder beside the source; skipped them", err=True)
        return []
    applied = []
    for name in DEMO_TENANT_FILES:
        if not (folder / name).is_file():
            continue
        file = load_tenant_file(folder / name)
        result = await _apply_tenant_file(app_url, file, dry_run=False, settings=settings)
        log.info("demo tenant applied", file=name, result=result.summary())
        applied.append((file.spec.tenant.slug, name, [u.email for u in file.spec.users or []]))
    return applied


def _manager_lines(logins: DemoLogins) -> list[str]:
    if not logins.managers:
        return []
    lines = ["  Department managers (supervisor and handler; same password):"]
    lines.extend(f"    {department}: {email}" for department, email in logins.managers)
    return lines


def _industry_lines(industries: list[tuple[str, str, list[str]]]) -> list[str]:
    if not industries:
        return []
    from closeloop.demo import DEMO_PASSWORD

    lines = [f"  Industry tenants (tenants/*.toml; every password {DEMO_PASSWORD}):"]
    for slug, name, emails in industries:
        lines.append(f"    {slug} ({name}):")
        lines.extend(f"      {email}" for email in emails)
    return lines


async def _apply_tenant_file(
    app_url: str, file: TenantFile, *, dry_run: bool, settings: Settings
) -> ChangeSet:
    from closeloop.config.files import apply_tenant_file
    from closeloop.db import create_engine, sessionmaker, transaction

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            # password_env names variables of the operator's shell, on purpose.
            return await apply_tenant_file(
                session, file, env=os.environ, dry_run=dry_run, settings=settings
            )
    finally:
        await engine.dispose()


async def _export_tenant(app_url: str, slug: str) -> str:
    from closeloop.config.files import export_tenant
    from closeloop.db import create_engine, sessionmaker, transaction

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            return await export_tenant(session, slug)
    finally:
        await engine.dispose()


@main.group()
def cases() -> None:
    """Cases in bulk: import from spreadsheets and CSV files."""


@cases.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--mapping",
    required=True,
    help="a shipped mapping (cfpb, heimao, practice_form) or a TOML file",
)
@click.option("--dry-run", is_flag=True, help="count what would happen and write no case")
@click.option("--encoding", default=None, help="the CSV file's encoding (default: detected)")
@click.option("--sheet", default=None, help="the XLSX sheet (default: the first)")
@click.option(
    "--errors",
    "errors_to",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the row errors to this CSV file",
)
def cases_import(
    slug: str,
    file: Path,
    mapping: str,
    dry_run: bool,
    encoding: str | None,
    sheet: str | None,
    errors_to: Path | None,
) -> None:
    """Import FILE (CSV or XLSX) into tenant SLUG with MAPPING (docs/imports.md).

    Historical cases keep their times and final status; nobody is notified; a second
    import of the same file changes nothing. Exit 1 when the run failed as a whole.
    """
    from closeloop.errors import NotFound
    from closeloop.imports import MappingError
    from closeloop.imports.command import cli_mapping, import_command

    settings = _settings()
    chosen = _given(cli_mapping, mapping, MappingError)
    with _database(settings) as app_url:
        try:
            run, text = asyncio.run(
                import_command(
                    app_url,
                    settings,
                    slug=slug,
                    path=file,
                    mapping=chosen,
                    dry_run=dry_run,
                    encoding=encoding,
                    sheet=sheet,
                    errors_to=errors_to,
                )
            )
        except NotFound as exc:
            _fail(f"closeloop: {exc.message}", status=2)
    click.echo(text)
    if run.status == "failed":
        sys.exit(1)


@main.group()
def tenants() -> None:
    """Tenants as files: tenants/<slug>.toml describes a tenant's whole configuration."""


@tenants.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="print the change set and write nothing")
def tenants_apply(file: Path, dry_run: bool) -> None:
    """Create or update the tenant FILE describes, in one transaction.

    Prints the change set (added, changed, deactivated), or "no changes". An invalid
    file is refused with its line and field, and nothing is applied (exit 1).
    """
    from closeloop.config.files import TenantFileError, load_tenant_file
    from closeloop.errors import ApiError

    settings = _settings()
    loaded = _given(load_tenant_file, file, TenantFileError)
    with _database(settings) as app_url:
        try:
            result = asyncio.run(
                _apply_tenant_file(app_url, loaded, dry_run=dry_run, settings=settings)
            )
        except TenantFileError as exc:
            _fail(f"closeloop: {exc}")
        except ApiError as exc:  # a rule the file broke that only the database knows
            _fail(f"closeloop: {file}: {exc.message} (nothing applied)")
    click.echo(result.report())


@tenants.command("export")
@click.argument("slug")
def tenants_export(slug: str) -> None:
    """Write tenant SLUG as a tenant file to standard output (users without passwords)."""
    from closeloop.errors import NotFound

    text = _on_tenant(slug, _export_tenant, missing=NotFound)
    click.echo(text, nl=False)


async def _dump_tenant(
    app_url: str, settings: Settings, slug: str, folder: Path, with_pii: bool
) -> dict[str, object]:
    from closeloop.db import create_engine, sessionmaker, transaction
    from closeloop.storage import storage_from_settings
    from closeloop.tenancy._dump import dump_tenant

    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            result = await dump_tenant(
                session,
                slug,
                folder,
                storage=storage_from_settings(settings),
                settings=settings,
                with_pii=with_pii,
                actor="operator:cli",
            )
            return result.manifest
    finally:
        await engine.dispose()


@tenants.command("dump")
@click.argument("slug")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--with-pii", is_flag=True, help="customers' PII in clear (audited)")
def tenants_dump(slug: str, folder: Path, with_pii: bool) -> None:
    """Write all of tenant SLUG into FOLDER (new or empty): manifest.json, tenant.toml,
    cases, customers, notifications and the audit chain as JSON Lines, and attachment
    files. Exit 1 when the audit chain does not verify (the dump is still written), or
    when the tenant's data key does not unwrap with this master key (nothing written)."""
    from closeloop.errors import NotFound
    from closeloop.tenancy._dump import TenantKeyUnusable

    settings = _settings()
    with _database(settings) as app_url:
        try:
            manifest = asyncio.run(_dump_tenant(app_url, settings, slug, folder, with_pii))
        except NotFound:
            _fail(f"closeloop: no tenant {slug!r}", status=2)
        except FileExistsError as exc:
            _fail(f"closeloop: {exc}", status=2)
        except TenantKeyUnusable as exc:
            _fail(f"closeloop: {exc.message}", status=1)
    audit: dict[str, object] = manifest["audit"]  # type: ignore[assignment]
    click.echo(f"tenant {slug} dumped to {folder}: {manifest['files']}")
    click.echo(f"audit chain: {'ok' if audit['ok'] else 'BROKEN'}, {audit['entries']} entries")
    if "delete_token" in manifest:
        click.echo(f"delete token (tenant suspended): {manifest['delete_token']}")
    if not audit["ok"]:
        sys.exit(1)


async def _delete_tenant(app_url: str, settings: Settings, slug: str, confirm: str | None) -> None:
    from closeloop.db import create_engine, sessionmaker
    from closeloop.storage import storage_from_settings
    from closeloop.tenancy._delete import delete_tenant_rows

    engine = create_engine(app_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session:
            async with session.begin():
                tenant = await delete_tenant_rows(
                    session, slug, confirm=confirm, settings=settings, actor="operator:cli"
                )
            await storage_from_settings(settings).purge(tenant.id)
    finally:
        await engine.dispose()


@tenants.command("delete")
@click.argument("slug")
@click.option("--confirm", default=None, help="the deletion token (from the dump or a first try)")
def tenants_delete(slug: str, confirm: str | None) -> None:
    """Delete suspended tenant SLUG for good: all its rows and files. Without --confirm,
    print the token that confirms it (exit 1); dump the tenant first."""
    from closeloop.errors import ApiError, NotFound

    settings = _settings()
    with _database(settings) as app_url:
        try:
            asyncio.run(_delete_tenant(app_url, settings, slug, confirm))
        except NotFound:
            _fail(f"closeloop: no tenant {slug!r}", status=2)
        except ApiError as exc:
            token = (exc.details or {}).get("confirm_token")
            hint = f"\nconfirm with: closeloop tenants delete {slug} --confirm {token}"
            _fail(f"closeloop: {exc.message}{hint if token else ''}")
    click.echo(f"tenant {slug} deleted: all its rows and files")


# ---- reports ------------------------------------------------------------------------------


def _report_formats() -> list[str]:
    from closeloop.reports.command import available_formats

    return available_formats()


@main.command("report")
@click.argument("slug")
@click.option("--period", help="2026-10 (a month), 2026-W41 (a week), 2026-10-03 or 2026")
@click.option("--from", "date_from", help="first day, instead of --period (YYYY-MM-DD)")
@click.option("--to", "date_to", help="last day, inclusive")
@click.option("--group-by", help="day, week, month, or channel, kind, category, ...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_report_formats()),
    default="csv",
    show_default=True,
    help=f"formats in this build: {', '.join(_report_formats())}",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: stdout")
@click.option(
    "--locale",
    type=click.Choice(["zh-CN", "en"]),
    default="zh-CN",
    show_default=True,
    help="the language of the xlsx workbook's headers and sheet names",
)
def report(
    slug: str,
    period: str | None,
    date_from: str | None,
    date_to: str | None,
    group_by: str | None,
    fmt: str,
    out: Path | None,
    locale: str,
) -> None:
    """Tenant SLUG's report over a period: every figure of docs/reports.md with the
    previous period, for the whole tenant (default period: this month so far)."""
    from closeloop.errors import ApiError, NotFound
    from closeloop.reports.command import summary_command, writer

    settings = _settings()
    params = {"date_from": date_from, "date_to": date_to, "period": period, "group_by": group_by}
    with _database(settings) as app_url:
        try:
            summary = asyncio.run(summary_command(app_url, settings, slug, params))
        except NotFound as exc:
            click.echo(f"closeloop: {exc.message}", err=True)
            sys.exit(2)
        except ApiError as exc:
            fields = [str(f.get("field")) for f in (exc.details or {}).get("fields", [])]
            click.echo(f"closeloop: {exc.message} ({', '.join(fields)})", err=True)
            sys.exit(2)
    write = writer(fmt)
    if fmt == "xlsx":  # in the language asked for
        from closeloop.reports.workbook import write_summary_xlsx

        write = functools.partial(write_summary_xlsx, locale=locale)
    if out is None:
        write(summary, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with out.open("wb") as stream:
        write(summary, stream)
    click.echo(f"report of {slug} written to {out}", err=True)


@main.group()
def reports() -> None:
    """The report facts and the daily rollup."""


@reports.command("rebuild")
@click.argument("slug")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="first day")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="last day, inclusive")
def reports_rebuild(slug: str, date_from: Any, date_to: Any) -> None:
    """Recompute the report facts of tenant SLUG's cases received in the range (default:
    all) and the daily rollup of those days."""
    from closeloop.errors import NotFound
    from closeloop.reports.command import rebuild_command

    first = date_from.date() if date_from else None
    last = date_to.date() if date_to else None
    if first is not None and last is not None and last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with _database(_settings()) as app_url:
        try:
            click.echo(asyncio.run(rebuild_command(app_url, slug, first, last)))
        except NotFound as exc:
            click.echo(f"closeloop: {exc.message}", err=True)
            sys.exit(2)


if __name__ == "__main__":
    main()
