"""The example plugin from the guide (docs/plugins.md), installed from its folder with
pip, is discovered through its entry point and called; its own tests pass against the
installed copy.

pip installs a copy of the folder (setuptools builds in the source folder, which must
stay clean) into a folder of its own (`--target`, `--no-deps`: Closeloop itself comes
from this environment). With setuptools in this environment the build needs no
network (`--no-build-isolation`); without it (Python 3.12+ venvs have none) pip
fetches setuptools from the package index for an isolated build.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "plugins" / "example"

DISCOVER = textwrap.dedent(
    """
    import sys
    from importlib.metadata import entry_points

    target = sys.argv[1]
    (entry,) = [e for e in entry_points(group="closeloop.plugins") if e.name == "keywords"]
    assert entry.dist.name == "closeloop-example-keywords", entry.dist.name

    from closeloop.plugins.manager import PluginManager
    from closeloop.testing import case_event, run_hook, sample_case

    manager = PluginManager()  # as the server finds its plugins
    manager.load_entry_points()
    installed = manager.get("keywords")
    assert installed is not None, manager.load_errors
    assert installed.origin == "entry_point"
    assert installed.plugin.__file__.startswith(target), installed.plugin.__file__
    assert set(installed.hooks) == {"validate_intake", "on_case_event"}, installed.hooks

    case = sample_case(description="客户称要向 12315 投诉")
    event = case_event("registered", case=case, from_status=None, to_status="registered")
    (action,) = run_hook(installed.plugin, "on_case_event", event=event)
    print(installed.name, installed.version, action.type, action.label)
    """
)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The example installed with pip into a folder, and an environment that sees it."""
    target = tmp_path_factory.mktemp("example-plugin")
    source = tmp_path_factory.mktemp("example-source") / "example"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME"} and not key.startswith("PIP_")
    }
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    offline = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            *offline,
            "--target",
            str(target),
            str(source),
        ],
        cwd=source.parent,
        env=env,
    )
    env["PYTHONPATH"] = os.pathsep.join([str(target), *_closeloop_path()])
    return target, env


def _closeloop_path() -> list[str]:
    """Where `closeloop` is imported from here (the source tree under pytest)."""
    import closeloop

    return [str(Path(closeloop.__file__).parents[1])]


def test_the_installed_example_is_discovered_and_called(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    target, env = installed
    output = _run([sys.executable, "-c", DISCOVER, str(target)], cwd=tmp_path, env=env)
    assert output.split(maxsplit=3) == ["keywords", "0.1.0", "flag", "escalation risk: 12315\n"]


def test_the_examples_own_tests_pass_against_the_installed_copy(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _target, env = installed
    output = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "-c",
            str(EXAMPLE / "pyproject.toml"),
            "--rootdir",
            str(EXAMPLE),
            str(EXAMPLE / "tests"),
        ],
        cwd=tmp_path,
        env=env,
    )
    assert "4 passed" in output
