"""The pluggy markers of the project `closeloop`: plugins write `from closeloop import hookimpl`.

Kept in a module of their own with no imports from the rest of Closeloop, so that
`import closeloop` stays light and a plugin never pulls in the database layer.
"""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "closeloop"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
