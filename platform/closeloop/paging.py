"""Keyset paging by an opaque cursor, the way every list of the API pages.

A list orders its rows by a unique key (`(received_at, id)`, `(created_at, id)`, ...),
reads one row more than the page, and answers the page with the cursor of its last
row (`next_cursor`, None at the end). The next request passes that cursor back and
continues strictly after it, so a page never skips or repeats a row whatever is
inserted meanwhile. A cursor this API did not give out is a 422 `invalid_cursor`.

    query = after(query, (Case.received_at, Case.id), cursor, descending=True)
    rows = (await session.scalars(query.order_by(...).limit(limit + 1))).all()
    return page(rows, limit, lambda case: (case.received_at, case.id))
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_

from closeloop.errors import UnprocessableEntity

__all__ = ["after", "decode_cursor", "encode_cursor", "page"]

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])

Key = tuple[dt.datetime, uuid.UUID]


def encode_cursor(key: Key) -> str:
    """The cursor of a row whose ordering key is `key` (a time and an id)."""
    at, row_id = key
    raw = json.dumps([at.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return dt.datetime.fromisoformat(at), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise UnprocessableEntity(
            "cursor is not one this API gave out; pass next_cursor unchanged",
            code="invalid_cursor",
            field="cursor",
        ) from None


def after(query: S, columns: tuple[Any, Any], cursor: str | None, *, descending: bool) -> S:
    """`query` restricted to the rows past `cursor` in the order of `columns` (newest
    first when `descending`); unchanged without a cursor."""
    if not cursor:
        return query
    key = tuple_(*columns)
    values = tuple_(*decode_cursor(cursor))
    return query.where(key < values if descending else key > values)


def page(rows: Sequence[T], limit: int, key: Callable[[T], Key]) -> tuple[list[T], str | None]:
    """The page (the first `limit` of `rows`, read with `limit + 1`) and the cursor of
    the next one (None at the end)."""
    found = list(rows[:limit])
    more = len(rows) > limit and found
    return found, encode_cursor(key(found[-1])) if more else None
