"""Search tokens: CJK bigrams (and single characters), Latin words, numbers."""

from __future__ import annotations

from closeloop.cases.search import document_tokens, query_tokens, tsquery_text


def test_cjk_runs_become_bigrams_and_a_query_phrase_is_covered_by_its_document() -> None:
    doc = set(document_tokens("拼多多天天领红包虚假"))
    assert {"拼多", "多多", "天天", "红包", "虚假"} <= doc
    assert set(query_tokens("领红包")) == {"领红", "红包"}
    assert set(query_tokens("领红包")) <= doc


def test_a_single_character_query_finds_the_character_anywhere() -> None:
    assert query_tokens("猫") == ["猫"]
    assert "猫" in document_tokens("黑猫投诉")


def test_latin_words_are_lowercased_and_full_width_is_folded() -> None:
    assert {"refund", "iphone", "abc123"} <= set(document_tokens("Refund the iPhone ＡＢＣ１２３"))
    assert query_tokens("REFUND iPhone") == ["refund", "iphone"]


def test_mixed_script_splits_at_the_script_boundary() -> None:
    doc = set(document_tokens("iPhone手机坏了"))
    assert {"iphone", "手机", "坏了"} <= doc
    assert set(query_tokens("iPhone手机")) <= doc


def test_the_number_is_a_token_and_so_are_its_parts() -> None:
    doc = set(document_tokens("CT-2026-00042"))
    assert {"ct-2026-00042", "ct", "2026", "00042"} <= doc
    assert set(query_tokens("ct-2026-00042")) <= doc


def test_queries_without_words_have_no_tokens_and_quotes_are_escaped() -> None:
    assert query_tokens("!!! ,,, ？") == []
    assert tsquery_text(["it's", "a\\b"]) == "'it''s' & 'a\\\\b'"
