"""The docs keep telling the truth as the code moves: every setting is described on
docs/settings.md and only there (other pages link to it), docs/api.md's route table is
the OpenAPI document's list of operations (both ways), and every relative link in the
README and docs/ reaches an existing file and heading."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from closeloop.settings import Settings, load_settings
from closeloop.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SETTINGS_PAGE = DOCS / "settings.md"
API_PAGE = DOCS / "api.md"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# Pages whose links are checked too (they may name settings: they are not docs pages).
LINKED = [*PAGES, ROOT / "deploy" / "README.md", ROOT / "bench" / "RESULTS.md"]
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")

# Settings whose variable has no CLOSELOOP_ prefix (names other tools share).
UNPREFIXED = {"database_url", "database_owner_url", "broker_url", "smtp_url", "log_format"}
UNPREFIXED |= {"log_level"}


def env_name(field: str) -> str:
    """The environment variable of a `Settings` field, as the docs name it."""
    return field.upper() if field in UNPREFIXED else f"CLOSELOOP_{field.upper()}"


SETTING_NAMES = sorted(env_name(field.name) for field in dataclasses.fields(Settings))

# A Markdown link or image: [text](target) or [text](target "title").
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _relative(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _prose(text: str) -> str:
    """The text without fenced code blocks (links there are not links)."""
    return FENCE.sub("", text)


def _links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", _prose(page.read_text(encoding="utf-8")))
    return [target for _, target in LINK.findall(text)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    kept = "".join(
        ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N", "M")
    )
    return kept.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    found: set[str] = set()
    for line in _prose(page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        base = slug(heading.group(1))
        name, number = base, 0
        while name in found:  # repeated headings get -1, -2, ...
            number += 1
            name = f"{base}-{number}"
        found.add(name)
    return frozenset(found)


# --- settings -------------------------------------------------------------------------

# Every name settings.py reads: `env.get("X")`, `_int(env, "X", ...)`, `_url(env, "X", ...)`.
_READ = re.compile(r'(?:env\.get\(|(?:_int|_url)\(\s*env,\s*)"([A-Z][A-Z0-9_]+)"')


def test_the_documented_names_are_the_ones_settings_reads() -> None:
    source = (ROOT / "platform" / "closeloop" / "settings.py").read_text(encoding="utf-8")
    assert set(SETTING_NAMES) == set(_READ.findall(source))


def test_every_setting_is_on_the_settings_page() -> None:
    text = SETTINGS_PAGE.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", text, re.MULTILINE))
    missing = [name for name in SETTING_NAMES if name not in rows]
    assert not missing, f"docs/settings.md has no row for {', '.join(missing)}"


def _links_to_settings_removed(page: Path, text: str | None = None) -> str:
    """The page's text with every link into docs/settings.md taken out."""

    def drop(found: re.Match[str]) -> str:
        target = found.group(2).split("#", 1)[0]
        resolved = (page.parent / target).resolve() if target else page
        return "" if resolved == SETTINGS_PAGE else found.group(0)

    return LINK.sub(drop, page.read_text(encoding="utf-8") if text is None else text)


@pytest.mark.parametrize("page", [p for p in PAGES if p != SETTINGS_PAGE], ids=_relative)
def test_other_pages_only_link_to_a_setting(page: Path) -> None:
    text = _links_to_settings_removed(page)
    named = [name for name in SETTING_NAMES if re.search(rf"\b{name}\b", text)]
    assert not named, (
        f"{_relative(page)} names {', '.join(named)} outside a link to docs/settings.md: "
        "describe settings there and link to them, e.g. [`NAME`](settings.md#database)"
    )


def test_a_setting_counts_as_linked_only_inside_a_link_to_the_settings_page() -> None:
    page = DOCS / "example.md"  # not read: the text is given
    text = "[`SMTP_URL`](settings.md#notifications) and [`LOG_LEVEL`](api.md) and `BROKER_URL`"
    left = _links_to_settings_removed(page, text)
    assert "SMTP_URL" not in left
    assert "LOG_LEVEL" in left
    assert "BROKER_URL" in left


# --- the API route table -------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    no_dotenv = tmp_path_factory.mktemp("docs") / "absent.env"
    app = create_app(load_settings({}, dotenv=no_dotenv))
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def _documented_routes() -> list[tuple[str, str]]:
    text = API_PAGE.read_text(encoding="utf-8")
    methods = "|".join(METHODS)
    row = re.compile(rf"^\|\s*({methods})\s*\|\s*`(/[^`]*)`\s*\|", re.MULTILINE)
    return row.findall(text)


def test_the_route_table_lists_no_route_twice() -> None:
    routes = _documented_routes()
    assert len(routes) > 50, "docs/api.md's route table was not found"
    twice = sorted({route for route in routes if routes.count(route) > 1})
    assert not twice, f"docs/api.md lists these more than once: {twice}"


def test_every_route_of_the_openapi_is_in_the_route_table(openapi: dict[str, Any]) -> None:
    served = {
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    documented = set(_documented_routes())
    missing = sorted(served - documented)
    stale = sorted(documented - served)
    assert not missing, f"docs/api.md's route table lacks {missing}"
    assert not stale, f"docs/api.md's route table lists routes the API does not have: {stale}"


# --- links -----------------------------------------------------------------------------


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("page", LINKED, ids=_relative)
def test_every_relative_link_reaches_a_file_and_heading(page: Path) -> None:
    broken = broken_links(page)
    assert not broken, f"{_relative(page)} has broken links: {', '.join(broken)}"


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](#title) [gone](missing.md) [no heading](page.md#nowhere)\n"
        "[web](https://example.com) `[code](missing.md)`\n\n```\n[fenced](missing.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md (no such file)",
        "page.md#nowhere (no such heading)",
    ]


def test_the_slug_is_githubs() -> None:
    assert slug("`DATABASE_URL` and `BROKER_URL`") == "database_url-and-broker_url"
    assert slug("Closing the loop: surveys and follow-ups") == (
        "closing-the-loop-surveys-and-follow-ups"
    )
    assert slug("Customer loop (回访)") == "customer-loop-回访"
