"""Closeloop plugin for manufacturers: warranty from the purchase date per product line,
proof of purchase, and the fault cause deciding between free repair, free replacement,
paid repair with a quote and usage guidance; quality defects on one production batch
raise a batch alert."""

from closeloop_manufacturing.hooks import (
    check_entitlement,
    correlate_case,
    extra_fields,
    on_case_event,
    suggest_resolution,
    validate_intake,
)
from closeloop_manufacturing.settings import Settings

NAME = "manufacturing"
VERSION = "0.1.0"
DESCRIPTION = (
    "Manufacturing: warranty from the purchase date per product line, proof of purchase, "
    "free repair / replacement / paid repair with a quote / usage guidance by fault cause, "
    "batch alerts for repeated quality defects"
)
SECRET_FIELDS: tuple[str, ...] = ()

__all__ = [
    "DESCRIPTION",
    "NAME",
    "SECRET_FIELDS",
    "VERSION",
    "Settings",
    "check_entitlement",
    "correlate_case",
    "extra_fields",
    "on_case_event",
    "suggest_resolution",
    "validate_intake",
]
