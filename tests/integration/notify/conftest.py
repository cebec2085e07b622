import pytest


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""
