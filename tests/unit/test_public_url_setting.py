"""CLOSELOOP_PUBLIC_URL: the base of links customers get (survey links); checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from closeloop.settings import SettingsError, load_settings

NO_DOTENV = Path("/nonexistent/.env")


def test_the_default_is_the_local_server() -> None:
    settings = load_settings({}, dotenv=NO_DOTENV)
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.survey_ttl_days == 14


def test_a_trailing_slash_is_dropped_and_a_path_prefix_kept() -> None:
    settings = load_settings(
        {"CLOSELOOP_PUBLIC_URL": "https://help.example.com/closeloop/"}, dotenv=NO_DOTENV
    )
    assert settings.public_url == "https://help.example.com/closeloop"


@pytest.mark.parametrize(
    "value", ["help.example.com", "ftp://help.example.com", "https://", "https://h.example?x=1"]
)
def test_a_malformed_public_url_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match="CLOSELOOP_PUBLIC_URL"):
        load_settings({"CLOSELOOP_PUBLIC_URL": value}, dotenv=NO_DOTENV)


def test_a_survey_lifetime_of_zero_days_is_refused() -> None:
    with pytest.raises(SettingsError, match="CLOSELOOP_SURVEY_TTL_DAYS"):
        load_settings({"CLOSELOOP_SURVEY_TTL_DAYS": "0"}, dotenv=NO_DOTENV)
