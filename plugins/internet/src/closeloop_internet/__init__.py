"""Closeloop plugin for internet services: incident severity (P1-P4 on the tenant's
levels), the data-security floor and notification, outage correlation, and category
suggestions for system failures, billing disputes and information security."""

from closeloop_internet.hooks import (
    assess_severity,
    classify_case,
    correlate_case,
    extra_fields,
    on_case_event,
    validate_intake,
)
from closeloop_internet.settings import Settings

NAME = "internet"
VERSION = "0.1.0"
DESCRIPTION = (
    "Internet services: incident severity P1-P4 from reach, duration, tier, data exposure "
    "and payments; security contact notified of data-security complaints; outage reports "
    "linked to one incident"
)
SECRET_FIELDS: tuple[str, ...] = ()

__all__ = [
    "DESCRIPTION",
    "NAME",
    "SECRET_FIELDS",
    "VERSION",
    "Settings",
    "assess_severity",
    "classify_case",
    "correlate_case",
    "extra_fields",
    "on_case_event",
    "validate_intake",
]
