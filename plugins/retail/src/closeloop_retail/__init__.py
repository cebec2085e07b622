"""Closeloop plugin for retailers: the 7-day no-reason return for resaleable goods,
defect returns (7 days) and exchanges (15 days), exclusions, the refund and who pays
the return shipping; delivery delays are put on the carrier as the responsible third
party."""

from closeloop_retail.hooks import (
    check_entitlement,
    classify_case,
    extra_fields,
    on_case_event,
    suggest_resolution,
    validate_intake,
)
from closeloop_retail.settings import Settings

NAME = "retail"
VERSION = "0.1.0"
DESCRIPTION = (
    "Retail: 7-day no-reason returns of resaleable goods, defect returns within 7 days and "
    "exchanges within 15, exclusions, refund amount and return shipping payer; carriers "
    "named as the responsible third party of delivery delays"
)
SECRET_FIELDS: tuple[str, ...] = ()

__all__ = [
    "DESCRIPTION",
    "NAME",
    "SECRET_FIELDS",
    "VERSION",
    "Settings",
    "check_entitlement",
    "classify_case",
    "extra_fields",
    "on_case_event",
    "suggest_resolution",
    "validate_intake",
]
