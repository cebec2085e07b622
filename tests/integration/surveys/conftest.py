import dataclasses

import pytest

from closeloop.settings import Settings

PUBLIC_URL = "https://support.example.com"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Links under a public address of their own; a rate limit these tests stay under."""
    return dataclasses.replace(settings, public_url=PUBLIC_URL, public_intake_per_minute=100)
