"""The one cursor every list pages by: opaque, round-trips its key, refuses a stranger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from closeloop.errors import UnprocessableEntity
from closeloop.paging import decode_cursor, encode_cursor, page


def test_a_cursor_gives_back_its_key() -> None:
    key = (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor(key)) == key
    assert decode_cursor(encode_cursor((42,)), (int,)) == (42,)


@pytest.mark.parametrize("cursor", ["x", "not-a-cursor", encode_cursor((42,)), "W10", "bnVsbA"])
def test_a_cursor_this_api_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(UnprocessableEntity) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "invalid_cursor"


def test_a_page_has_a_next_cursor_only_when_more_rows_were_read() -> None:
    rows = [(n,) for n in range(4)]
    found, cursor = page(rows, 3, lambda row: row)
    assert found == rows[:3]
    assert cursor is not None
    assert decode_cursor(cursor, (int,)) == (2,)
    assert page(rows, 4, lambda row: row) == (rows, None)
