"""The import page's mapping form names every case field a mapping can fill by its label
in the page's language, one label per field (the form's selects are found by it)."""

from __future__ import annotations

import pytest

from closeloop.console.imports_form import FIELD_LABELS, field_labels
from closeloop.imports.fields import FIELDS


def test_every_field_a_mapping_can_fill_has_a_label() -> None:
    assert set(FIELD_LABELS) == set(FIELDS)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_labels_are_translated_and_tell_the_fields_apart(locale: str) -> None:
    labels = field_labels(locale)
    assert list(labels) == list(FIELDS)
    assert len(set(labels.values())) == len(labels), sorted(labels.values())
    assert not set(labels.values()) & set(FIELDS)  # no mapping name shown as a label


def test_the_labels_in_each_language() -> None:
    english, chinese = field_labels("en"), field_labels("zh-CN")
    assert english["received_at"] == "Received at"
    assert chinese["received_at"] == "受理时间"
    assert chinese["customer_phone"] == "客户电话"
    assert chinese["followup_outcome"] == "回访结果"
