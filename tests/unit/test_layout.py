"""`platform/` is a source root, not a package (DESIGN §3): a package named `platform`
would shadow the standard library's module and break `import uuid`."""

from __future__ import annotations

import platform
import sysconfig
from pathlib import Path

import closeloop

ROOT = Path(__file__).resolve().parents[2]


def test_platform_is_the_standard_library_module() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert callable(platform.system)


def test_uuid_imports() -> None:
    import uuid

    assert uuid.uuid4().version == 4


def test_the_source_root_has_no_package_marker() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert Path(closeloop.__file__).resolve().parent == ROOT / "platform" / "closeloop"

