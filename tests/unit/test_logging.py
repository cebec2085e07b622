"""Logging: one structlog chain; what a request binds (request id, tenant, actor) appears on
every line, including lines from standard-library loggers; JSON when LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from closeloop.logs import configure_logging, get_logger

CONTEXT = {"request_id": "req-7f3a", "tenant_id": "0b6c7f0e-tenant", "actor": "user:42"}


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Route the root handler that `configure_logging` installs into a buffer; undo afterwards."""
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_level = root.level
    buffer = io.StringIO()
    yield buffer
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = [
        h for h in root.handlers if not isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    root.setLevel(saved_level)
    structlog.configure(**saved_config)


def configure(buffer: io.StringIO, log_format: str) -> None:
    configure_logging(log_format=log_format, level="INFO")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_structlog_line_is_json_with_the_request_context(log_output: io.StringIO) -> None:
    configure(log_output, "json")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**CONTEXT)

    get_logger("closeloop.test").info("case received", channel="phone")

    (line,) = json_lines(log_output)
    assert line["event"] == "case received"
    assert line["channel"] == "phone"
    assert {key: line[key] for key in CONTEXT} == CONTEXT
    assert line["level"] == "info"
    assert line["logger"] == "closeloop.test"
    assert "timestamp" in line


def test_standard_library_logger_goes_through_the_same_chain(log_output: io.StringIO) -> None:
    configure(log_output, "json")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**CONTEXT)

    logging.getLogger("some.library").warning("pool %s exhausted", "db")

    (line,) = json_lines(log_output)
    assert line["event"] == "pool db exhausted"
    assert line["level"] == "warning"
    assert line["logger"] == "some.library"
    assert {key: line[key] for key in CONTEXT} == CONTEXT


def test_exception_stays_one_json_line(log_output: io.StringIO) -> None:
    configure(log_output, "json")
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("closeloop.test").exception("handler failed")

    (line,) = json_lines(log_output)
    assert line["event"] == "handler failed"
    assert "ValueError: boom" in line["exception"]


def test_cleared_context_does_not_leak_into_the_next_request(log_output: io.StringIO) -> None:
    configure(log_output, "json")
    structlog.contextvars.bind_contextvars(**CONTEXT)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="req-next")

    get_logger("closeloop.test").info("next")

    (line,) = json_lines(log_output)
    assert line["request_id"] == "req-next"
    assert "tenant_id" not in line
    assert "actor" not in line


def test_console_format_shows_the_context_too(log_output: io.StringIO) -> None:
    configure(log_output, "console")
    structlog.contextvars.bind_contextvars(**CONTEXT)

    logging.getLogger("some.library").warning("plain line")

    text = log_output.getvalue()
    assert "plain line" in text
    assert all(value in text for value in CONTEXT.values())
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
