"""Cases: intake, the handling lifecycle, the timeline, listing and search.

Intake and listing (`intake`, `numbering`, `search`, `listing`, `editing`, `views`,
`attachments`) are re-exported here; the lifecycle lives in `lifecycle`, `actions`
and `timeline`. The names resolve on first use: importing the services here eagerly
would make `closeloop.cases.models` (which every service imports, the customer
service included) import the services back, a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from closeloop.cases.attachments import AttachmentService
    from closeloop.cases.editing import CaseService
    from closeloop.cases.intake import IntakeResult, IntakeService, find_repeats
    from closeloop.cases.listing import CaseFilters, list_cases
    from closeloop.cases.numbering import CaseNumbering, numbering_for_kind, take_number
    from closeloop.cases.schemas import CaseCreate, CasePage, CaseRead, CaseSummary, CaseUpdate
    from closeloop.cases.search import document_tokens, matches, query_tokens, search_vector
    from closeloop.cases.views import case_read, case_summaries

__all__ = [
    "AttachmentService",
    "CaseCreate",
    "CaseFilters",
    "CaseNumbering",
    "CasePage",
    "CaseRead",
    "CaseService",
    "CaseSummary",
    "CaseUpdate",
    "IntakeResult",
    "IntakeService",
    "case_read",
    "case_summaries",
    "document_tokens",
    "find_repeats",
    "list_cases",
    "matches",
    "numbering_for_kind",
    "query_tokens",
    "search_vector",
    "take_number",
]

_HOMES = {
    "AttachmentService": "attachments",
    "CaseService": "editing",
    "IntakeResult": "intake",
    "IntakeService": "intake",
    "find_repeats": "intake",
    "CaseFilters": "listing",
    "list_cases": "listing",
    "CaseNumbering": "numbering",
    "numbering_for_kind": "numbering",
    "take_number": "numbering",
    "CaseCreate": "schemas",
    "CasePage": "schemas",
    "CaseRead": "schemas",
    "CaseSummary": "schemas",
    "CaseUpdate": "schemas",
    "document_tokens": "search",
    "matches": "search",
    "query_tokens": "search",
    "search_vector": "search",
    "case_read": "views",
    "case_summaries": "views",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'closeloop.cases' has no attribute {name!r}")
    return getattr(importlib.import_module(f"closeloop.cases.{home}"), name)
