"""Erasure's redaction of a customer's known PII in free text (no database)."""

from __future__ import annotations

import pytest

from closeloop.customers._erasure import redactor

VALUES = {"name": "张三", "phone": "13812345678", "email": "zs@example.com", "id_number": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13812345678", "call [erased]"),
        ("call +86 138-1234-5678!", "call [erased]!"),
        ("call 0086 (138) 1234.5678", "call [erased]"),
        ("mail ZS@Example.COM today", "mail [erased] today"),
        ("张三说", "[erased]说"),
        ("order 13812345678901", "order 13812345678901"),
        ("ticket 913812345678", "ticket 913812345678"),
        ("nothing personal", "nothing personal"),
    ],
)
def test_known_values_are_redacted_in_any_format(text: str, expected: str) -> None:
    redact = redactor(VALUES)
    assert redact is not None
    assert redact(text) == expected


def test_nothing_known_means_nothing_to_redact() -> None:
    assert redactor({"name": "张", "phone": None, "email": " ", "id_number": None}) is None
