"""Browser tests: Closeloop served by uvicorn in a subprocess, driven in Debian's
Chromium by Playwright for Python (async API, on the suite's session event loop).

Playwright's own browser download is never used: the system's Chromium
(`/usr/lib/chromium/chromium`, or `CLOSELOOP_CHROMIUM`) runs headless. Without it the
tests skip, or fail under `CLOSELOOP_REQUIRE_SERVICES=1`. Screenshots are written to
`test-artifacts/browser/` (or `CLOSELOOP_TEST_ARTIFACTS`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import LOGIN_MAX_FAILURES, NewContext
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from closeloop.provision import Provisioned
from support import OPERATOR_TOKEN, TenantHandle, make_tenant

CHROMIUM = Path(os.environ.get("CLOSELOOP_CHROMIUM") or "/usr/lib/chromium/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
# The served app's own keys (it shares no encrypted data with the other tests' app).
SECRET_KEY = "browser-test-secret-key-0123456789abcdef"
# The suite's own master key: the console server writes tenants into the database the
# other tests share, and one deployment has one master key (the operator tests export
# every tenant they find, and a key wrapped under another master key does not unwrap).
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"  # 32 bytes, URL-safe base64
TIMEOUT_MS = 20_000
# `expect(...)` waits on its own clock (5 s by default), not the context's: on a loaded CI
# machine a page after an upload can take longer than that to arrive.
expect.set_options(timeout=TIMEOUT_MS)


def _unavailable(reason: str) -> None:
    if os.environ.get("CLOSELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"CLOSELOOP_REQUIRE_SERVICES=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_live(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the console server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the console server did not answer: {log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def console_url(database: Provisioned) -> Iterator[str]:
    """The URL of Closeloop served by uvicorn in a subprocess, on the test database."""
    folder = Path(tempfile.mkdtemp(prefix="closeloop-browser-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLOSELOOP_")}
    env |= {
        "DATABASE_URL": database.app_url,
        "CLOSELOOP_SECRET_KEY": SECRET_KEY,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
        "CLOSELOOP_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "CLOSELOOP_DATA_DIR": str(folder / "data"),
        "CLOSELOOP_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
        "CLOSELOOP_DB_POOL_SIZE": "4",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("BROKER_URL", None)
    port = _free_port()
    log = folder / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("serve_console.py")), str(port)],
            cwd=folder,  # no developer's .env is read
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_context(browser: Browser, console_url: str) -> AsyncIterator[NewContext]:
    """Fresh browser profiles on the served app, closed after the test."""
    made: list[BrowserContext] = []

    async def make(locale: str = "zh-CN") -> BrowserContext:
        context = await browser.new_context(
            base_url=console_url, locale=locale, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


@pytest.fixture
async def page(new_context: NewContext) -> Page:
    """A page in a fresh zh-CN browser profile."""
    context = await new_context()
    return await context.new_page()


@pytest.fixture
async def api(console_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the served app, for set-up through the API."""
    async with httpx.AsyncClient(base_url=console_url, timeout=30) as client:
        yield client


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> TenantHandle:
    """A tenant of its own per test (the served app's tables are never emptied)."""
    return await make_tenant(api, f"b-{uuid.uuid4().hex[:12]}")  # type: ignore[arg-type]


@pytest.fixture
async def other_tenant(api: httpx.AsyncClient) -> TenantHandle:
    return await make_tenant(api, f"b-{uuid.uuid4().hex[:12]}")  # type: ignore[arg-type]
