"""Imports every model module, so the metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

import importlib

__all__ = ["MODEL_MODULES", "load_all_models"]

MODEL_MODULES = (
    "closeloop.tenancy.models",
    "closeloop.identity.models",
    "closeloop.config.models",
    "closeloop.cases.models",
    "closeloop.audit.models",
    "closeloop.pii.models",
    "closeloop.queue.models",
    "closeloop.sla.calendar_models",
    "closeloop.notify.models",
    "closeloop.surveys.models",
    "closeloop.followups.models",
    "closeloop.plugins.models",
    "closeloop.sla.models",
    "closeloop.console.models",
    "closeloop.imports.models",
    "closeloop.reports.models",
    "closeloop.reports.schedule_models",
)


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
