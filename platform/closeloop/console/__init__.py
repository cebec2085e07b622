"""The staff console: server-rendered pages under /console/ (Jinja2, htmx, Tabler).

Pages call the same services as the API and hold no business rule of their own. See
docs/console.md.
"""

from __future__ import annotations

from closeloop.console.plugin import ConsolePlugin

__all__ = ["ConsolePlugin"]
