"""The tenant file writer leaves out null values: TOML has none (a plugin's settings
may hold one), and the rest of the table is still written."""

import tomllib

from closeloop.config.files import dump_toml


def test_null_values_are_left_out() -> None:
    text = dump_toml({"plugins": {"retail": {"enabled": True, "settings": {"a": None, "b": 1}}}})
    assert tomllib.loads(text) == {"plugins": {"retail": {"enabled": True, "settings": {"b": 1}}}}
