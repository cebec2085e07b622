"""Case number patterns: the placeholders render, the period follows the finest date
placeholder, and an unusable pattern says why."""

from __future__ import annotations

import datetime as dt

import pytest

from closeloop.config.patterns import PatternError, period_key, render_number, validate_pattern

DAY = dt.date(2026, 11, 5)


@pytest.mark.parametrize(
    ("pattern", "seq", "number"),
    [
        ("{yyyy}{mm}{seq:04}", 1, "2026110001"),
        ("CT-{yyyy}-{seq:05}", 42, "CT-2026-00042"),
        ("SR-{yyyy}-{seq:05}", 123456, "SR-2026-123456"),  # a full period grows a digit
        ("{yy}{mm}{dd}-{seq}", 7, "261105-7"),
        ("N{seq:03}", 9, "N009"),
    ],
)
def test_a_pattern_renders_the_date_and_sequence(pattern: str, seq: int, number: str) -> None:
    assert render_number(pattern, date=DAY, seq=seq) == number


@pytest.mark.parametrize(
    ("pattern", "period"),
    [
        ("{yyyy}{mm}{dd}{seq}", "2026-11-05"),
        ("{yyyy}{mm}{seq:04}", "2026-11"),
        ("CT-{yy}-{seq:05}", "2026"),
        ("N{seq:06}", "all"),
    ],
)
def test_the_sequence_restarts_with_the_finest_date_placeholder(pattern: str, period: str) -> None:
    assert period_key(pattern, DAY) == period


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "empty"),
        ("{yyyy}{mm}", "exactly one {seq}"),
        ("{seq}{seq}", "only once"),
        ("{yyyy}{month}{seq}", "unknown placeholder {month}"),
        ("{seq:4}", "unknown placeholder {seq:4}"),
        ("{seq:013}", "at most 12 digits"),
        ("CT-{seq", "unbalanced"),
        ("CT}-{seq}", "unbalanced"),
        ("CT {seq}", "spaces"),
        ("X" * 65 + "{seq}", "at most 64"),
    ],
)
def test_an_unusable_pattern_says_why(pattern: str, why: str) -> None:
    with pytest.raises(PatternError, match=why.replace("{", r"\{").replace("}", r"\}")):
        validate_pattern(pattern)
