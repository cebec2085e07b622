"""Closeloop: complaints and after-sales service requests, from first contact to the follow-up
that closes the loop, for many companies on one deployment.

Plugins write `from closeloop import hookimpl` (the pluggy marker of the project
`closeloop`; see `closeloop.plugins.hookspecs`). It comes from a module with no imports
from the rest of Closeloop, so importing it stays cheap and cycle-free.
"""

from closeloop.plugins.markers import hookimpl

__all__ = ["__version__", "hookimpl"]

__version__ = "0.1.0"
