"""The refusals a caller can act on: `ApiError` and its family, one class per status.

Services, actors and the CLI raise these; they know nothing of HTTP beyond the status
each carries. `closeloop.web.errors` translates them (and Litestar's own errors) into
the JSON error shape `{"error": {"code", "message", "details"}}`.

An error about particular fields names them in `details.fields`, a list of
`{"field", "message"}`; other keys of `details` add facts (`allowed`, `limit_bytes`,
`retry_after_seconds`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "ApiError",
    "Conflict",
    "FieldProblem",
    "Forbidden",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
]


FieldProblem = dict[str, str | None]
"""One entry of `details.fields`: `{"field": "email", "message": "..."}`; `field` is a
dotted path into the body (`product.purchase_date`), a parameter or header name, or
null for the body as a whole."""


class ApiError(Exception):
    """A refusal the caller can act on. `field` names the field (or fields) at fault:
    each gets `message` in `details.fields`; `details` adds other facts."""

    status_code = 400
    code = "bad_request"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        """`class Gone(ApiError, status=410, code="gone")`: the status and code of every
        error of the class (the code may still be given per error)."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | Iterable[str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] | None = dict(details) if details else None
        if field is not None:
            names = [field] if isinstance(field, str) else list(field)
            problems = [{"field": name, "message": message} for name in names]
            self.details = {"fields": problems, **(self.details or {})}
        if code is not None:
            self.code = code

    @property
    def fields(self) -> list[str]:
        """The names in `details.fields` (empty when the error names no field)."""
        problems = (self.details or {}).get("fields") or []
        return [str(p["field"]) for p in problems if p.get("field") is not None]


# One class per status: `status` and `code` given as the class is made.
class Unauthorized(ApiError, status=401, code="unauthorized"): ...


class Forbidden(ApiError, status=403, code="forbidden"): ...


class NotFound(ApiError, status=404, code="not_found"): ...


class Conflict(ApiError, status=409, code="conflict"): ...


class UnprocessableEntity(ApiError, status=422, code="validation_failed"): ...


class TooManyRequests(ApiError, status=429, code="too_many_requests"): ...


class ServiceUnavailable(ApiError, status=503, code="service_unavailable"): ...
