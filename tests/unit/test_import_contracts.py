"""The import contracts (`[tool.importlinter]` in pyproject.toml, run by `make lint`): they
hold for the code as it is, and each one catches the import it forbids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# One import each contract forbids, appended to a module of a copy of the code.
_BAD_IMPORTS = {
    "driver-path": ("sla/policies.py", "from closeloop import rows"),
    "errors-outside-web": ("cases/editing.py", "from closeloop.web.errors import error_response"),
    "domains-without-web": ("notify/delivery.py", "from closeloop.web import deps"),
    "core-below-domains": ("db.py", "from closeloop.cases import models"),
}


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project / "platform"), "COLUMNS": "250"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contracts() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract["name"] for contract in config["contracts"]}


def test_the_contracts_are_the_ones_named_here() -> None:
    assert set(_contracts()) == set(_BAD_IMPORTS)


def test_the_code_keeps_every_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_BAD_IMPORTS)} kept, 0 broken." in result.stdout


def test_each_forbidden_import_is_caught(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "platform" / "closeloop",
        tmp_path / "platform" / "closeloop",
        ignore=shutil.ignore_patterns("__pycache__", "static", "locale", "templates"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line in _BAD_IMPORTS.values():
        path = tmp_path / "platform" / "closeloop" / module
        path.write_text(path.read_text() + f"\n{line}  # the forbidden import\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Contracts: 0 kept, {len(_BAD_IMPORTS)} broken." in result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    for name in _contracts().values():
        assert name in broken
