"""Industry plugins on pluggy: the hook specifications (`hookspecs`), the types they
exchange (`types`), the pure calling rules (`calling`) and the per-tenant manager
(`manager`). Plugins need only `from closeloop import hookimpl` and
`closeloop.plugins.types`.

This package's `__init__` imports nothing heavy: `closeloop/__init__.py` re-exports
`hookimpl` from `markers`, and a plugin must be importable without a database.
"""

from closeloop.plugins.markers import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
