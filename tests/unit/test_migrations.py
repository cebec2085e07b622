"""The migration history stays one straight line."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from closeloop.migrate import alembic_config


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused@localhost/x", "app"))
    heads = script.get_heads()
    assert len(heads) == 1, (
        f"several migration heads {heads}: set down_revision to the previous head"
    )
