"""Fetch the console's vendored front-end files from the npm registry and record them.

Run from the repository root when a version changes (needs `npm`; nothing else does):

    python platform/closeloop/console/static/vendor/update.py

For each package below it runs `npm pack NAME@VERSION`, unpacks the tarball, copies the
released files named here (never a build of our own), writes each license text beside
them, builds the icon sprite from the Tabler SVGs listed in ICONS, and rewrites
MANIFEST.toml (name, version, file, sha256, license, source). The unit test
tests/unit/test_console_vendor.py re-hashes the files against that manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import tomli_w

HERE = Path(__file__).resolve().parent
REGISTRY = "https://registry.npmjs.org"
SVG = "http://www.w3.org/2000/svg"

# The MIT license of @tabler/core as published in github.com/tabler/tabler (LICENSE);
# the npm tarball carries only the "Licensed under MIT" header in its CSS.
TABLER_LICENSE = """The MIT License (MIT)

Copyright (c) 2018-2023 The Tabler Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
"""

# Outline icons put into the sprite (`<use href="...sprite.svg#NAME">`). Add a name here
# and run the script again when a screen needs another icon.
_ICON_NAMES = """
    alert-circle alert-triangle arrow-down arrow-left arrow-right arrow-up bell building
    calendar chart-bar chart-pie check chevron-down chevron-left chevron-right chevron-up
    clock dots-vertical download edit external-link eye eye-off file-text filter flag home
    hourglass inbox info-circle keyboard language list lock login logout mail message
    paperclip phone player-pause plus printer refresh search settings star trash upload user
    user-circle users x
"""
ICONS = tuple(_ICON_NAMES.split())


@dataclasses.dataclass(frozen=True)
class Package:
    name: str
    version: str
    folder: str  # under vendor/
    license: str  # SPDX identifier
    files: dict[str, str]  # path in the tarball -> file name in `folder`
    licenses: dict[str, str]  # path in the tarball -> file name in `folder`
    use: str
    license_text: str | None = None  # when the tarball carries no license file


PACKAGES = (
    Package(
        name="htmx.org",
        version="2.0.11",  # 2.x: htmx 4 changed attribute inheritance and events
        folder="htmx",
        license="0BSD",
        files={"dist/htmx.min.js": "htmx.min.js"},
        licenses={"LICENSE": "LICENSE"},
        use="every console page",
    ),
    Package(
        name="@tabler/core",
        version="1.6.1",
        folder="tabler",
        license="MIT",
        files={"dist/css/tabler.min.css": "tabler.min.css"},
        licenses={},
        license_text=TABLER_LICENSE,
        use="every console page (CSS only; its JS is not needed yet)",
    ),
    Package(
        name="echarts",
        version="6.1.0",
        folder="echarts",
        license="Apache-2.0",
        files={"dist/echarts.common.min.js": "echarts.common.min.js"},
        licenses={"LICENSE": "LICENSE", "NOTICE": "NOTICE", "licenses/LICENSE-d3": "LICENSE-d3"},
        use="report and dashboard charts (line, bar, pie, scatter)",
    ),
    Package(
        name="axe-core",
        version="4.14.1",
        folder="axe-core",
        license="MPL-2.0",
        files={"axe.min.js": "axe.min.js"},
        licenses={"LICENSE": "LICENSE", "LICENSE-3RD-PARTY.txt": "LICENSE-3RD-PARTY.txt"},
        use="browser tests only (accessibility checks); no page loads it",
    ),
    Package(
        name="@tabler/icons",
        version="3.52.0",
        folder="tabler-icons",
        license="MIT",
        files={},  # the sprite is built from icons/outline/*.svg
        licenses={"LICENSE": "LICENSE"},
        use="every console page (icon sprite)",
    ),
)


def npm_pack(spec: str, into: Path) -> Path:
    """Download a package tarball with the npm client and unpack it; its root folder."""
    output = subprocess.run(  # noqa: S603 - our own fixed arguments
        ["npm", "pack", spec, "--silent", "--pack-destination", str(into)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    tarball = into / output[-1]
    unpacked = into / tarball.name.removesuffix(".tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked / "package"


def icon_sprite(outline: Path, names: list[str]) -> bytes:
    """One SVG with a `<symbol id=NAME>` per icon, drawn with the icon's own strokes."""
    ET.register_namespace("", SVG)
    sprite = ET.Element(f"{{{SVG}}}svg")
    for name in sorted(names):
        # The released package's own files, checked by npm's integrity hash.
        icon = ET.parse(outline / f"{name}.svg").getroot()  # noqa: S314
        symbol = ET.SubElement(sprite, f"{{{SVG}}}symbol", id=name)
        for attribute in ("viewBox", "fill", "stroke", "stroke-width", "stroke-linecap"):
            symbol.set(attribute, icon.get(attribute, ""))
        symbol.set("stroke-linejoin", icon.get("stroke-linejoin", ""))
        for child in icon:
            if child.get("stroke") == "none" and child.get("d") == "M0 0h24v24H0z":
                continue  # the invisible bounding box every Tabler icon carries
            child.tail = None
            symbol.append(child)
    drawn: bytes = ET.tostring(sprite, encoding="utf-8", xml_declaration=False)
    return drawn + b"\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(package: Package, work: Path) -> list[dict[str, str]]:
    root = npm_pack(f"{package.name}@{package.version}", work)
    target = HERE / package.folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for source, name in package.files.items():
        shutil.copyfile(root / source, target / name)
    if package.name == "@tabler/icons":
        (target / "sprite.svg").write_bytes(icon_sprite(root / "icons" / "outline", list(ICONS)))
    for source, name in package.licenses.items():
        shutil.copyfile(root / source, target / name)
    if package.license_text is not None:
        (target / "LICENSE").write_text(package.license_text, encoding="utf-8")
    entries = []
    served = sorted(p for p in target.iterdir() if p.suffix in (".js", ".css", ".svg"))
    for path in served:
        entries.append(
            {
                "name": package.name,
                "version": package.version,
                "file": f"{package.folder}/{path.name}",
                "sha256": sha256(path),
                "license": package.license,
                "license_file": f"{package.folder}/LICENSE",
                "source": f"{REGISTRY}/{package.name}/-/"
                f"{package.name.rsplit('/', 1)[-1]}-{package.version}.tgz",
                "use": package.use,
            }
        )
        if path.name == "sprite.svg":
            entries[-1]["icons"] = " ".join(sorted(ICONS))
    return entries


def main() -> int:
    if shutil.which("npm") is None:
        print("update.py needs the npm client on PATH", file=sys.stderr)
        return 1
    files: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="closeloop-vendor-") as work:
        for package in PACKAGES:
            files.extend(vendor(package, Path(work)))
    manifest = {"generated_by": "update.py", "files": files}
    (HERE / "MANIFEST.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")
    for entry in files:
        print(f"{entry['file']}: {entry['name']} {entry['version']} {entry['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
