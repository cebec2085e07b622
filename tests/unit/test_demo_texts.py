"""The demo's case texts: the shared complaints when the folder is there, the built-in
set when it is not; made-up customers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from closeloop.demo_texts import FALLBACK, demo_texts, fake_person
from support import shared_data_dir


def test_without_the_shared_data_the_built_in_texts_are_used(tmp_path: Path) -> None:
    chinese, english, shared = demo_texts(tmp_path / "absent")
    assert not shared
    assert chinese
    assert english
    assert set(chinese) | set(english) == set(FALLBACK)


def test_the_shared_complaints_are_read_in_place() -> None:
    folder = shared_data_dir()
    if not (folder / "zh").is_dir():
        pytest.skip(f"no shared data at {folder}")
    chinese, english, shared = demo_texts(folder)
    assert shared
    assert len(chinese) > 100
    assert len(english) > 100
    for text in chinese + english:
        assert text.title
        assert len(text.title) <= 120
        assert 0 < len(text.description) <= 2000
        assert "\ufeff" not in text.title + text.description


def test_made_up_customers_look_real_and_differ() -> None:
    rng = random.Random(1)
    people = [fake_person(rng, n, english=n % 2 == 0) for n in range(1, 21)]
    assert len({p["phone"] for p in people}) == 20
    assert all(p["phone"].startswith("1380000") and len(p["phone"]) == 11 for p in people)
    assert all("@example." in p["email"] for p in people)
