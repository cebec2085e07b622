"""Helpers of the browser tests: screenshots, axe-core checks, problems in the console."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import BrowserContext, ConsoleMessage, Page

from closeloop.console.assets import STATIC_ROOT

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CLOSELOOP_TEST_ARTIFACTS") or ROOT / "test-artifacts" / "browser")
# Failed sign-ins per account before the served app answers 429 (small, to test it quickly).
LOGIN_MAX_FAILURES = 3
# The `new_context` fixture: `await new_context(locale="en")` gives a fresh browser
# profile (cookies of its own) on the served app.
NewContext = Callable[..., Awaitable[BrowserContext]]
AXE_SOURCE = (STATIC_ROOT / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
FAILING_IMPACTS = ("serious", "critical")


async def screenshot(page: Page, name: str, artifacts: Path) -> Path:
    """A full-page screenshot kept as a test artifact (Playwright makes the folder)."""
    path = artifacts / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def assert_accessible(page: Page) -> None:
    """axe-core (the vendored copy) finds no serious or critical violation on the page.

    axe is evaluated through the DevTools protocol, which the page's Content Security
    Policy does not govern, so the page keeps its real policy during the check.
    """
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SOURCE)
    result = await page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    failing = [v for v in result["violations"] if v["impact"] in FAILING_IMPACTS]
    summary = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in failing
    ]
    assert not failing, f"axe on {page.url}:\n{json.dumps(summary, ensure_ascii=False, indent=1)}"


class Problems:
    """What the browser reports on a page that a user would never want: script errors
    and anything the Content Security Policy blocked."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"script error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.seen.append(f"CSP: {message.text}")
