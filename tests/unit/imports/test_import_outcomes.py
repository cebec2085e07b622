"""SLA outcomes a file states (`[sla.<target>]`): the column's values through the value
map (else yes/no, or met/breached), the clock's start from its own column, unknown
values reported on their cell while the other rows map, and mistakes of the entry named
by line and field."""

from __future__ import annotations

import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

import pytest

from closeloop.imports import (
    ImportedCase,
    Mapper,
    MappingError,
    RowErrors,
    open_table,
    parse_mapping,
)

NEW_YORK = ZoneInfo("America/New_York")
BASE = textwrap.dedent(
    """\
    [source]
    time_zone = "America/New_York"
    date_formats = ["%m/%d/%Y"]

    [fields]
    channel = { value = "web" }
    description = "Text"
    received_at = "Received"
    """
)
OUTCOME = textwrap.dedent(
    """\
    [sla.first_response]
    column = "Timely?"
    start = "Sent"
    due = { unit = "calendar", hours = 360 }
    [sla.first_response.map]
    Yes = "met"
    No = "breached"
    Unknown = ""
    """
)


def _map(csv_text: str, mapping: str) -> list[ImportedCase | RowErrors]:
    loaded = parse_mapping(mapping)
    with open_table(csv_text.encode("utf-8")) as table:
        return list(Mapper(loaded, table.header).map_rows(table.rows()))


def test_a_stated_outcome_becomes_part_of_the_record() -> None:
    results = _map(
        "Text,Received,Sent,Timely?\n"
        "a,05/03/2019,05/06/2019,Yes\n"
        "b,05/03/2019,,no\n"  # a map key matches ignoring case; no start: the received time
        "c,05/03/2019,05/06/2019,Unknown\n"  # mapped to "": no clock
        "d,05/03/2019,05/06/2019,\n"  # empty, no default: no clock
        "e,05/03/2019,05/06/2019,Maybe\n"
        "f,05/03/2019,someday,Yes\n",
        BASE + OUTCOME,
    )
    cases = [r for r in results if isinstance(r, ImportedCase)]
    failed = [r for r in results if isinstance(r, RowErrors)]
    assert [r.row for r in cases] == [2, 3, 4, 5]
    a, b, c, d = cases
    e, f = failed
    assert a.sla["first_response"].met is True
    assert a.sla["first_response"].started_at == dt.datetime(2019, 5, 6, tzinfo=NEW_YORK)
    assert a.sla["first_response"].due == {"unit": "calendar", "hours": 360}
    assert b.sla["first_response"].met is False
    assert b.sla["first_response"].started_at is None
    assert c.sla == d.sla == {}
    [error] = e.errors
    assert (error.row, error.column, error.field, error.value) == (
        6,
        "Timely?",
        "sla.first_response",
        "Maybe",
    )
    assert "not in the value map" in error.reason
    [error] = f.errors
    assert (error.row, error.column, error.field, error.value) == (
        7,
        "Sent",
        "sla.first_response",
        "someday",
    )


def test_without_a_map_yes_no_and_the_words_met_and_breached_are_read() -> None:
    mapping = BASE + '[sla.resolution]\ncolumn = "Kept"\ndue = { unit = "business", hours = 8 }\n'
    results = _map(
        "Text,Received,Kept\na,05/03/2019,是\nb,05/03/2019,breached\nc,05/03/2019,N/A\n", mapping
    )
    assert [r.sla["resolution"].met if isinstance(r, ImportedCase) and r.sla else None
            for r in results] == [True, False, None]  # fmt: skip
    defaulted = mapping + 'on_unknown = "default"\ndefault = "breached"\n'
    [result] = _map("Text,Received,Kept\na,05/03/2019,maybe\n", defaulted)
    assert isinstance(result, ImportedCase)
    assert result.sla["resolution"].met is False


def _problems(text: str, header: list[str] | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(MappingError) as caught:
        loaded = parse_mapping(text)
        if header is not None:
            Mapper(loaded, header)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_mistakes_of_an_sla_entry_name_their_line_and_field() -> None:
    text = BASE + textwrap.dedent(
        """\
        [sla.first_answer]
        column = "Timely?"
        due = { unit = "calendar", hours = 24 }

        [sla.resolution]
        column = "Kept"
        due = { unit = "calendar", days = 15 }
        [sla.resolution.map]
        Yes = "kept"

        [sla.followup]
        due = { unit = "working_days", days = 2 }
        """
    )
    problems = _problems(text)
    assert [(line, field) for line, field, _ in problems] == [
        (19, "sla.followup.column"),
        (9, "sla.first_answer"),
        (15, "sla.resolution.due"),
        (17, "sla.resolution.map.Yes"),
    ]
    assert "unknown SLA target 'first_answer'" in problems[1][2]
    assert "counts hours" in problems[2][2]
    assert "expected met, breached" in problems[3][2]


def test_the_columns_of_an_sla_entry_are_checked_against_the_header() -> None:
    problems = _problems(BASE + OUTCOME, ["Text", "Received", "Timely?"])
    assert [(line, field) for line, field, _ in problems] == [(11, "sla.first_response.start")]
    assert "the file has no column 'Sent'" in problems[0][2]
