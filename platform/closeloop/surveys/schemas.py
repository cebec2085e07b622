"""Bodies of the public survey page (`/public/surveys/{token}`)."""

from __future__ import annotations

import datetime as dt

import msgspec

from closeloop.bounded import AnswerCode, Text

__all__ = ["ScaleItem", "SurveyAnswer", "SurveyAnswered", "SurveyRead"]


class ScaleItem(msgspec.Struct):
    """One answer of the tenant's satisfaction scale, labelled in the survey's language;
    an answer with `satisfied: false` needs a reason."""

    code: str
    label: str
    satisfied: bool


class SurveyRead(msgspec.Struct):
    """The survey as the customer sees it, in their language (`locale`)."""

    locale: str
    tenant_name: str
    case_number: str
    case_title: str
    question: str
    scale: list[ScaleItem]
    reason_label: str
    expires_at: dt.datetime
    answered: bool
    answer: str | None = None
    answered_at: dt.datetime | None = None


class SurveyAnswer(msgspec.Struct, forbid_unknown_fields=True):
    """`answer`: a `code` of the scale; `reason`: required when the answer is not a
    satisfied one."""

    answer: AnswerCode
    reason: Text | None = None


class SurveyAnswered(msgspec.Struct):
    """The answer taken; `message` thanks the customer in the survey's `locale`."""

    answer: str
    satisfied: bool
    message: str
    locale: str
