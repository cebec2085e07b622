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

Key = tuple[Any, ...]  # the values of a row's ordering columns: times, ids, numbers
TIME_AND_ID: tuple[type, ...] = (dt.datetime, uuid.UUID)


def encode_cursor(key: Key) -> str:
    """The cursor of a row whose ordering columns hold `key`."""
    values = [v.isoformat() if isinstance(v, dt.datetime) else _plain(v) for v in key]
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _typed(kind: type, value: Any) -> Any:
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"not a {kind.__name__}")


def decode_cursor(cursor: str, kinds: tuple[type, ...] = TIME_AND_ID) -> Key:
    """The key in `cursor`, one value of each of `kinds`; 422 `invalid_cursor` when the
    cursor is not one this API gave out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("not a key")
        return tuple(_typed(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise UnprocessableEntity(
            "cursor is not one this API gave out; pass next_cursor unchanged",
            code="invalid_cursor",
            field="cursor",
        ) from None


def after(query: S, columns: tuple[Any, ...], cursor: str | None, *, descending: bool) -> S:
    """`query` restricted to the rows past `cursor` in the order of `columns` (newest
    first when `descending`); unchanged without a cursor."""
    if not cursor:
        return query
    kinds = tuple(column.type.python_type for column in columns)
    key, values = tuple_(*columns), tuple_(*decode_cursor(cursor, kinds))
    return query.where(key < values if descending else key > values)


def page(rows: Sequence[T], limit: int, key: Callable[[T], Key]) -> tuple[list[T], str | None]:
    """The page (the first `limit` of `rows`, read with `limit + 1`) and the cursor of
    the next one (None at the end)."""
    found = list(rows[:limit])
    more = len(rows) > limit and found
    return found, encode_cursor(key(found[-1])) if more else None
