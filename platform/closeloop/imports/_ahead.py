"""Reading ahead: a file's rows read and mapped on a thread of their own, in chunks, a
little ahead of the writer, so the next batch is mapped while the database writes this
one (the thread waits on nothing but the queue; at most two chunks wait in it)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from closeloop.imports.records import ImportedCase, RowErrors

__all__ = ["ahead", "chunked"]

Result = ImportedCase | RowErrors


def chunked(results: Iterator[Result], size: int) -> Iterator[list[Result]]:
    chunk: list[Result] = []
    for result in results:
        chunk.append(result)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_END = object()


async def ahead(
    chunks: Iterator[list[Result]],
) -> AsyncIterator[list[Result]]:
    """The chunks, read and mapped on a thread of their own a little ahead of the writer:
    the next batch is mapped while the database writes this one. At most two wait."""
    waiting: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the writer, raised there
            offer(exc)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = await asyncio.to_thread(waiting.get)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
