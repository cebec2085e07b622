"""The console's static files: content-hashed URLs, a year of caching, gzip for text."""

from __future__ import annotations

import gzip
import re

import pytest

from closeloop.console.assets import STATIC_ROOT, assets
from support import Client

# DESIGN/issue budget: the first page load transfers under 200 KB compressed.
FIRST_LOAD_BUDGET = 200 * 1024
LINKED = re.compile(r'(?:href|src)="(/console/static/[^"#]+)')


async def test_every_file_is_served_under_its_hash_with_a_year_of_caching(client: Client) -> None:
    served = assets().files
    assert {"console.js", "console.css", "vendor/htmx/htmx.min.js"} <= set(served)
    for name, asset in served.items():
        response = await client.get(assets().url(name), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, name
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"].startswith(asset.media_type.split(";")[0])
        assert response.content == (STATIC_ROOT / name).read_bytes()
        assert "set-cookie" not in response.headers  # nothing stops a cache keeping it


async def test_text_files_go_out_gzipped_to_clients_that_accept_it(client: Client) -> None:
    url = assets().url("vendor/tabler/tabler.min.css")
    raw = (STATIC_ROOT / "vendor/tabler/tabler.min.css").read_bytes()
    async with client.stream("GET", url, headers={"Accept-Encoding": "gzip, br"}) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == raw
    assert len(body) < len(raw) / 5


async def test_an_outdated_hash_gets_the_current_file_uncached(client: Client) -> None:
    response = await client.get("/console/static/0123456789abcdef/console.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (STATIC_ROOT / "console.js").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "vendor/update.py",
        "vendor/MANIFEST.toml",
        "vendor/htmx/LICENSE",
        "../pages.py",
        "vendor/../../sessions.py",
        "no-such-file.js",
    ],
)
async def test_only_the_servable_files_are_served(client: Client, path: str) -> None:
    response = await client.get(f"/console/static/0123456789abcdef/{path}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


async def test_the_sign_in_page_links_only_hashed_files_and_loads_within_the_budget(
    client: Client,
) -> None:
    page = await client.get("/console/login", headers={"Accept-Encoding": "gzip"})
    links = LINKED.findall(page.text)
    assert {link.split("/", 4)[4] for link in links} >= {
        "vendor/tabler/tabler.min.css",
        "vendor/htmx/htmx.min.js",
        "console.js",
        "console.css",
    }
    total = len(gzip.compress(page.content))
    for link in links:
        async with client.stream("GET", link, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status_code == 200, link
            assert response.headers["cache-control"].endswith("immutable"), link
            total += len(b"".join([chunk async for chunk in response.aiter_raw()]))
    assert total < FIRST_LOAD_BUDGET, f"first load transfers {total} bytes compressed"
