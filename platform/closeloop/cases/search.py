"""Full-text search that works for Chinese as well as for Latin-script text.

PostgreSQL ships no Chinese parser, and its default parser's idea of a "word" in CJK
text depends on the server's locale. So the tokens are computed here, in Python, and
handed to PostgreSQL as finished lexemes: the document with `array_to_tsvector()`, the
query as a `tsquery` literal; neither goes through a PostgreSQL parser or dictionary,
so what matches is exactly what this module says.

Tokens (after NFKC normalisation, which folds full-width letters and digits, and
lower-casing):

* a run of CJK characters gives its overlapping character bigrams (`黑猫投诉` →
  `黑猫 猫投 投诉`); the document also carries every single character, so a
  one-character query (`猫`) finds it too;
* a Latin word or number gives itself (`Refund` → `refund`); in the document, a
  compound joined by `- _ . / @ +` (`CT-2026-00042`, `0.02`) gives the compound and
  its parts, so the case number is one token as well as its pieces.

A query is tokenized the same way (parts only) and every token must match, so a
Chinese phrase matches documents containing all of its bigrams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Text, bindparam, cast, func
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY

from closeloop.cases.models import Case

__all__ = [
    "document_tokens",
    "matches",
    "query_tokens",
    "search_vector",
    "tsquery_text",
    "vector_text",
]

_CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")
# Words are looked for only in the text left once the CJK runs are blanked out, so a
# plain class does (no CJK character is left for it to take).
_WORD = "[^\\W_]+"
_COMPOUND = re.compile(f"{_WORD}(?:[-_./@+]{_WORD})*")
_PART = re.compile(_WORD)
_MAX_TOKEN = 100  # characters; longer "words" (hashes, URLs) are left out


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _cjk_tokens(run: str, *, unigrams: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    tokens = [run[i : i + 2] for i in range(len(run) - 1)]
    if unigrams:
        tokens.extend(run)
    return tokens


def _tokens(text: str, *, document: bool) -> list[str]:
    out: list[str] = []
    if text.isascii():  # NFKC leaves ASCII as it is, and it holds no CJK run
        latin = text.lower()
    else:
        text = _normalize(text)
        for run in _CJK_RUN.findall(text):
            out.extend(_cjk_tokens(run, unigrams=document))
        latin = _CJK_RUN.sub(" ", text)
    if document:
        for compound in _COMPOUND.findall(latin):
            out.append(compound)
            if not compound.isalnum():  # joined by separators: its parts too
                out.extend(_PART.findall(compound))
    else:
        out.extend(_PART.findall(latin))
    if len(latin) <= _MAX_TOKEN:  # no token can be longer
        return out
    return [t for t in out if len(t) <= _MAX_TOKEN]


def document_tokens(*texts: str | None) -> list[str]:
    """The distinct lexemes of a case's searchable text, sorted."""
    found: set[str] = set()
    for text in texts:
        if text:
            found.update(_tokens(text, document=True))
    return sorted(found)


def query_tokens(query: str) -> list[str]:
    """The distinct lexemes a search must all find, in the order they were typed."""
    return list(dict.fromkeys(_tokens(query, document=False)))


def search_vector(*texts: str | None) -> ColumnElement[object]:
    """SQL for the `cases.search` value of these texts."""
    return func.array_to_tsvector(bindparam(None, document_tokens(*texts), type_=ARRAY(Text)))


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def vector_text(tokens: Iterable[str]) -> str:
    """`'a' 'b'`: the `cases.search` value of these tokens (`document_tokens`) as text,
    which PostgreSQL reads as is (the same vector as `array_to_tsvector` makes)."""
    tokens = list(tokens)
    if not tokens:
        return ""
    plain = "\n".join(tokens)
    if "'" in plain or "\\" in plain:  # never so for `document_tokens`
        return " ".join(_quote(t) for t in tokens)
    return "'" + "' '".join(tokens) + "'"


def tsquery_text(tokens: Iterable[str]) -> str:
    """`'a' & 'b'`: a tsquery literal (read by PostgreSQL as is, no parser involved)."""
    return " & ".join(_quote(t) for t in tokens)


def matches(query: str) -> ColumnElement[bool] | None:
    """A WHERE clause for cases matching every token of `query`; None if it has none."""
    tokens = query_tokens(query)
    if not tokens:
        return None
    return Case.search.op("@@")(cast(bindparam(None, tsquery_text(tokens), type_=Text), TSQUERY))
