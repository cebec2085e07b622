"""Customer-facing pages: the public intake form and the case status page."""

from closeloop.public.controllers import PublicCaseController

__all__ = ["PublicCaseController"]
