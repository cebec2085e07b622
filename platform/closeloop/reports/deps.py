"""How to get the report services: one provider each (API, console, CLI and e-mail alike).

`ReportService(session, *, principal=..., settings=...)`: a principal limits the figures
to its department scope; the CLI and the scheduled e-mail pass None (the whole tenant).
"""

from __future__ import annotations

from closeloop.providers import as_caller
from closeloop.reports.orders import OrderVolumeService
from closeloop.reports.service import ReportService

__all__ = ["provide_order_volumes", "provide_report_service"]

provide_report_service = as_caller(ReportService, "provide_report_service")
provide_order_volumes = as_caller(OrderVolumeService, "provide_order_volumes")
