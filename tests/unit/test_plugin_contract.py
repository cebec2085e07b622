"""The plugin contract stays honest (datasette's `test_plugin_hooks_are_documented` and
`test_plugin_hooks_have_tests`): every hookspec has a section in the authors' guide
titled with its exact arguments, and every hook is named in a test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from closeloop.plugins import hookspecs
from closeloop.plugins.calling import HOOK_NAMES, hook_argnames, result_type
from closeloop.plugins.markers import PROJECT

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
TESTS = ROOT / "tests"


def _spec_functions() -> list[str]:
    """Every function of the hookspec module marked as a hookspec."""
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if inspect.isfunction(value) and hasattr(value, f"{PROJECT}_spec")
    )


def test_the_hook_list_is_the_hookspec_module() -> None:
    assert list(HOOK_NAMES) == _spec_functions()
    assert sorted(hookspecs.__all__) == _spec_functions()


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_is_documented_with_its_exact_arguments(hook: str) -> None:
    assert GUIDE.is_file(), (
        "docs/plugins.md (the plugin authors' guide) is missing: it must have one "
        "section per hook titled `### `hook(arguments)``"
    )
    heading = f"### `{hook}({', '.join(hook_argnames(hook))})`"
    headings = [line.strip() for line in GUIDE.read_text(encoding="utf-8").splitlines()]
    assert heading in headings, f"docs/plugins.md needs a section titled {heading}"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hookspec_says_its_arguments_return_and_when(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    for part in ("Arguments:", "Returns:", "Called when:", "Example::"):
        assert part in doc, f"{hook}'s docstring lacks {part!r}"
    for argument in hook_argnames(hook):
        assert f"`{argument}`" in doc, f"{hook}'s docstring does not name `{argument}`"
    assert "settings" in hook_argnames(hook)
    assert "tenant" in hook_argnames(hook)
    assert result_type(hook) is not None


def _test_files() -> dict[Path, str]:
    this = Path(__file__).resolve()
    return {
        path: path.read_text(encoding="utf-8")
        for path in TESTS.rglob("test_*.py")
        if path.resolve() != this
    }


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"\b{hook}\b")
    assert any(pattern.search(text) for text in _test_files().values()), (
        f"no test under tests/ names the hook {hook!r}"
    )
