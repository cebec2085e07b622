"""The console's static files, served under content-hashed URLs.

At start-up every servable file under `static/` is read and hashed once. A page names
a file with `static_url('vendor/htmx/htmx.min.js')`, which gives
`/console/static/<digest>/vendor/htmx/htmx.min.js`: a changed file gets a new URL, so
browsers may keep a file for a year without asking again (`immutable`). Text files go
out gzip-compressed to clients that accept it, compressed once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from closeloop.identity.access import public

__all__ = ["STATIC_PREFIX", "STATIC_ROOT", "Asset", "Assets", "assets", "static_file"]

STATIC_ROOT = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/console/static"
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 16

# What is served, by suffix; anything else under static/ (licenses, the manifest, the
# update script) is not.
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
COMPRESSED = frozenset({".css", ".js", ".svg"})


@dataclasses.dataclass(frozen=True)
class Asset:
    path: str  # relative to static/, with forward slashes
    digest: str
    body: bytes
    media_type: str
    compressible: bool

    @functools.cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=9, mtime=0)


class Assets:
    """Every servable file under `root`, with its digest; read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            media_type = MEDIA_TYPES.get(path.suffix)
            if media_type is None or not path.is_file():
                continue
            body = path.read_bytes()
            name = path.relative_to(root).as_posix()
            self.files[name] = Asset(
                path=name,
                digest=hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH],
                body=body,
                media_type=media_type,
                compressible=path.suffix in COMPRESSED,
            )

    def url(self, name: str) -> str:
        """The URL of static file `name` (e.g. `console.css`); a missing file raises."""
        asset = self.files.get(name)
        if asset is None:
            raise LookupError(f"no console static file {name!r} under {self.root}")
        return f"{STATIC_PREFIX}/{asset.digest}/{name}"

    def get(self, name: str) -> Asset | None:
        return self.files.get(name)


@functools.cache
def assets(root: Path = STATIC_ROOT) -> Assets:
    """The process's assets, hashed the first time they are asked for (at app start-up)."""
    return Assets(root)


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    for coding in request.headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


# Registered on the console router; the CSRF middleware leaves it alone (no cookie on
# a cacheable answer).
@get(
    "/static/{digest:str}/{file_path:path}",
    opt={"exclude_from_csrf": True, **public("the console's scripts and styles, the same for all")},
    include_in_schema=False,
    sync_to_thread=False,
)
def static_file(
    request: Request[Any, Any, Any], digest: FromPath[str], file_path: FromPath[str]
) -> Response[bytes]:
    """A static file. An outdated digest (a page from before a deploy) still gets the
    current file, but not cached, so no cache keeps it under the old URL."""
    asset = assets().get(file_path.lstrip("/"))
    if asset is None:
        raise NotFoundException(f"no static file {file_path!r}")
    headers = {
        "Cache-Control": IMMUTABLE if digest == asset.digest else "no-cache",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    body = asset.body
    if asset.compressible and _accepts_gzip(request):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
