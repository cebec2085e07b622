"""The vendored front-end files are the released files the manifest records."""

from __future__ import annotations

import hashlib
import re
import tomllib

import pytest

from closeloop.console.assets import STATIC_ROOT, assets

VENDOR = STATIC_ROOT / "vendor"
MANIFEST = tomllib.loads((VENDOR / "MANIFEST.toml").read_text(encoding="utf-8"))["files"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_each_vendored_file_matches_its_recorded_sha256(entry: dict[str, str]) -> None:
    body = (VENDOR / entry["file"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"], (
        f"{entry['file']} differs from what MANIFEST.toml records; re-run "
        "platform/closeloop/console/static/vendor/update.py rather than editing it"
    )
    for field in ("name", "version", "license", "source", "use"):
        assert entry[field], f"{entry['file']}: no {field}"
    assert entry["source"].startswith("https://registry.npmjs.org/")
    license_text = (VENDOR / entry["license_file"]).read_text(encoding="utf-8")
    assert len(license_text) > 100, f"{entry['license_file']} is not a license text"


def test_every_vendored_file_is_in_the_manifest() -> None:
    recorded = {entry["file"] for entry in MANIFEST}
    served = {name.removeprefix("vendor/") for name in assets().files if name.startswith("vendor/")}
    assert served == recorded


def test_htmx_is_the_2_0_line() -> None:
    (htmx,) = [entry for entry in MANIFEST if entry["name"] == "htmx.org"]
    assert re.fullmatch(r"2\.0\.\d+", htmx["version"]), (
        "the console is written for htmx 2.0 (htmx 4 changed attribute inheritance)"
    )
    source = (VENDOR / htmx["file"]).read_text(encoding="utf-8")
    assert f'version:"{htmx["version"]}"' in source


def test_the_icon_sprite_has_every_icon_it_lists() -> None:
    (sprite,) = [entry for entry in MANIFEST if entry["file"].endswith("sprite.svg")]
    text = (VENDOR / sprite["file"]).read_text(encoding="utf-8")
    symbols = set(re.findall(r'<symbol id="([a-z0-9-]+)"', text))
    assert symbols == set(sprite["icons"].split())
    assert len(symbols) >= 40


def test_templates_use_only_icons_in_the_sprite() -> None:
    (sprite,) = [entry for entry in MANIFEST if entry["file"].endswith("sprite.svg")]
    available = set(sprite["icons"].split())
    templates = STATIC_ROOT.parent / "templates"
    used = set()
    for template in templates.glob("*.html"):
        used |= set(re.findall(r'icon\("([a-z0-9-]+)"\)', template.read_text(encoding="utf-8")))
    assert used, "no icon() calls found: the scan is broken"
    assert used <= available, f"icons missing from the sprite: {sorted(used - available)}"
