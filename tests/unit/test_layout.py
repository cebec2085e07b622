"""`platform/` is a source root, not a package (DESIGN §3): a package named `platform`
would shadow the standard library's module and break `import uuid`."""

from __future__ import annotations

import platform
import re
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


def _commands_named_in(text: str) -> set[tuple[str, ...]]:
    """`closeloop db upgrade`, `closeloop serve ...` -> ("db", "upgrade"), ("serve",)."""
    found = set()
    for match in re.finditer(r"closeloop((?: [a-z][a-z-]*)+)", text):
        words = tuple(match.group(1).split())
        found.add(words[:2] if words[0] in ("db", "tenants", "audit") else words[:1])
    return found


def test_deploy_files_only_run_commands_that_exist() -> None:
    from click.testing import CliRunner

    from closeloop.cli import main

    named: set[tuple[str, ...]] = set()
    for path in [ROOT / "deploy" / "Procfile", *(ROOT / "deploy" / "systemd").glob("*.service")]:
        named |= _commands_named_in(path.read_text(encoding="utf-8"))
    assert ("serve",) in named
    runner = CliRunner()
    for words in sorted(named):
        result = runner.invoke(main, [*words, "--help"])
        assert result.exit_code == 0, f"closeloop {' '.join(words)}: {result.output}"
