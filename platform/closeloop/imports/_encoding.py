"""Which text encoding a CSV file is in: a byte-order mark, else strict UTF-8, else GB18030,
else what charset-normalizer finds.

GB18030 comes before detection on purpose: it is a superset of GBK and GB2312, the
encodings of most Chinese spreadsheets saved as CSV, and a short GBK file is otherwise
easily taken for Korean (cp949) by detectors. Every candidate except a byte-order mark
is checked against the whole file (in chunks, so memory stays flat), not a sample.
"""

from __future__ import annotations

import codecs
import dataclasses
from typing import BinaryIO, Literal

__all__ = ["DetectedEncoding", "decodes_whole", "detect_encoding"]

CHUNK = 1 << 20
# How much of the file charset-normalizer looks at; its guess is then checked on the whole.
DETECTION_SAMPLE = 1 << 20

EncodingSource = Literal["bom", "utf-8", "gb18030", "detected", "given"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    # UTF-32 first: its little-endian mark begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class DetectedEncoding:
    """The encoding to read with (a Python codec name) and how it was chosen."""

    encoding: str
    source: EncodingSource


class UnknownEncoding(Exception):
    """No candidate decodes the whole file; the caller must name the encoding."""


def decodes_whole(stream: BinaryIO, encoding: str) -> bool:
    """Whether the whole of `stream` (from its start) decodes strictly as `encoding`."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    finally:
        stream.seek(0)
    return True


def detect_encoding(stream: BinaryIO) -> DetectedEncoding:
    """The encoding of the seekable binary `stream`; raise `UnknownEncoding` if none fits."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return DetectedEncoding(encoding, "bom")
    if decodes_whole(stream, "utf-8"):
        return DetectedEncoding("utf-8", "utf-8")
    if decodes_whole(stream, "gb18030"):
        return DetectedEncoding("gb18030", "gb18030")
    for guess in _guesses(stream):
        if decodes_whole(stream, guess):
            return DetectedEncoding(guess, "detected")
    raise UnknownEncoding(
        "cannot tell the file's text encoding (not UTF-8, not GB18030/GBK, and detection "
        "found nothing that decodes the whole file); name the encoding"
    )


def _guesses(stream: BinaryIO) -> list[str]:
    """charset-normalizer's candidates for the start of the file, most likely first."""
    from charset_normalizer import from_bytes

    stream.seek(0)
    sample = stream.read(DETECTION_SAMPLE)
    stream.seek(0)
    return [match.encoding for match in from_bytes(sample)]
