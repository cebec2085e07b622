"""Case numbers: the kind's pattern, the counter scope per period, padding."""

from __future__ import annotations

import datetime as dt

import pytest

from closeloop.cases.numbering import numbering_for_kind
from closeloop.config.patterns import PatternError

DAY = dt.date(2026, 11, 5)


@pytest.mark.parametrize(
    ("pattern", "seq", "number", "scope"),
    [
        ("{yyyy}{mm}{seq:04}", 1, "2026110001", "202611{seq}"),
        ("CT-{yyyy}-{seq:05}", 42, "CT-2026-00042", "CT-2026-{seq}"),
        ("SR-{yy}{mm}{dd}-{seq}", 7, "SR-261105-7", "SR-261105-{seq}"),
        ("{seq:03}/{yyyy}", 12345, "12345/2026", "{seq}/2026"),
    ],
)
def test_patterns_render_and_scope_by_period(
    pattern: str, seq: int, number: str, scope: str
) -> None:
    numbering = numbering_for_kind({"complaint": pattern}, "complaint")
    assert numbering.render(DAY, seq) == number
    assert numbering.scope(DAY) == scope
    # What the database renders the number from (numbering.take_number)
    before, width, after = numbering.around_seq(DAY)
    assert before + str(seq).zfill(width) + after == number


def test_padding_does_not_change_the_counter() -> None:
    four = numbering_for_kind({"default": "CT-{yyyy}-{seq:04}"}, "complaint")
    five = numbering_for_kind({"default": "CT-{yyyy}-{seq:05}"}, "complaint")
    assert four.scope(DAY) == five.scope(DAY)


def test_a_new_period_is_a_new_counter() -> None:
    numbering = numbering_for_kind({}, "complaint")
    assert numbering.scope(dt.date(2026, 12, 31)) != numbering.scope(dt.date(2027, 1, 1))


def test_kind_falls_back_to_default_then_builtin() -> None:
    patterns = {"default": "D{seq:02}", "complaint": "C{seq:02}"}
    assert numbering_for_kind(patterns, "complaint").render(DAY, 1) == "C01"
    assert numbering_for_kind(patterns, "inquiry").render(DAY, 1) == "D01"
    assert numbering_for_kind({}, "inquiry").render(DAY, 1) == "2026110001"


def test_a_broken_stored_pattern_is_reported() -> None:
    with pytest.raises(PatternError):
        numbering_for_kind({"default": "{seq}{seq}"}, "inquiry")
