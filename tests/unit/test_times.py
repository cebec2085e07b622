"""Dates and times as clients type them: every RFC 3339 form, with or without seconds."""

from __future__ import annotations

import datetime as dt

import pytest

from closeloop.times import parse_time

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-13T17:30+08:00", dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)),
        ("2026-02-13T17:30:00+08:00", dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)),
        ("2026-02-13T17:30:05.5+08:00", dt.datetime(2026, 2, 13, 17, 30, 5, 500000, tzinfo=CST)),
        (
            "2026-02-13T09:30:05.123456789Z",
            dt.datetime(2026, 2, 13, 9, 30, 5, 123456, tzinfo=dt.UTC),
        ),
        ("2026-02-13T09:30:05,25Z", dt.datetime(2026, 2, 13, 9, 30, 5, 250000, tzinfo=dt.UTC)),
        ("2026-02-13t09:30z", dt.datetime(2026, 2, 13, 9, 30, tzinfo=dt.UTC)),
        ("2026-02-13 17:30+08:00", dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)),
        ("2026-02-13T17:30+0800", dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)),
        ("2026-02-13T17:30+08", dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)),
        (
            "2026-02-13T04:00-05:30",
            dt.datetime(2026, 2, 13, 4, 0, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
        (" 2026-02-13T17:30 ", dt.datetime(2026, 2, 13, 17, 30)),  # naive: the caller decides
        ("2026-02-13 17:30:59", dt.datetime(2026, 2, 13, 17, 30, 59)),
    ],
)
def test_accepted_forms(text: str, expected: dt.datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert (parsed.tzinfo is None) == (expected.tzinfo is None)
    assert type(parsed) is dt.datetime


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-02-13",  # a date is not a time
        "17:30",
        "2026-02-13T17",
        "2026-02-13T1730",
        "2026-13-01T10:00Z",
        "2026-02-30T10:00Z",
        "2026-02-13T24:01Z",
        "2026-02-13T17:30+25:00",
        "2026-02-13T17:30 +08:00",
        "2026-02-13T17:30:00.Z",
        "next tuesday",
        "２０２６-02-13T17:30Z",  # full-width digits
    ],
)
def test_refused_forms_name_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="date and time"):
        parse_time(text)
