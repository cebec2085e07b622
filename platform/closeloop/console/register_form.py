"""The register form (screen 1) as posted and as shown: form fields to the intake body
(`CaseCreate`), the tenant's choices to offer, and problems to show next to fields.

Input names are the intake body's own paths (`title`, `customer.phone`,
`product.order_number`, `extra.fault_cause`), so a problem the intake service names
(`details.fields[*].field`) lands next to the input of that name.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from litestar.datastructures import FormMultiDict, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.attachments import Upload, check_type, clean_filename, too_large
from closeloop.cases.schemas import CaseCreate
from closeloop.config import current
from closeloop.config.models import Category
from closeloop.config.service import CategoryService
from closeloop.console.i18n import N_, gettext
from closeloop.errors import ApiError, UnprocessableEntity
from closeloop.plugins.tenant import TenantPlugins
from closeloop.plugins.types import FieldSpec
from closeloop.settings import Settings
from closeloop.times import dec_hook

__all__ = [
    "CUSTOMER_FIELDS",
    "KINDS",
    "LABELS",
    "PII_INPUTS",
    "PRODUCT_FIELDS",
    "Choice",
    "FormProblems",
    "RegisterChoices",
    "extra_field_specs",
    "form_values",
    "intake_body",
    "load_choices",
    "read_uploads",
]

KINDS = (
    ("complaint", N_("Complaint")),
    ("service_request", N_("Service request")),
    ("inquiry", N_("Inquiry")),
    ("suggestion", N_("Suggestion")),
)
# (input name, label, input type); PII fields are never shown back to a viewer without `pii`.
CUSTOMER_FIELDS = (
    ("customer.phone", N_("Phone"), "tel"),
    ("customer.email", N_("E-mail"), "email"),
    ("customer.name", N_("Name"), "text"),
    ("customer.nickname", N_("How to address them"), "text"),
)
PII_INPUTS = frozenset({"customer.phone", "customer.email", "customer.name"})
PRODUCT_FIELDS = (
    ("product.name", N_("Product"), "text"),
    ("product.model", N_("Model"), "text"),
    ("product.batch", N_("Batch"), "text"),
    ("product.order_number", N_("Order number"), "text"),
    ("product.purchase_date", N_("Purchase date"), "date"),
    ("product.warranty_card", N_("Warranty card"), "text"),
)
# The other inputs' labels, for the list of problems above the form.
LABELS = (
    ("kind", N_("Kind")),
    ("channel", N_("Channel")),
    ("received_at", N_("Received at")),
    ("title", N_("Title")),
    ("description", N_("What happened")),
    ("demands", N_("Demands")),
    ("severity_id", N_("Severity")),
    ("category_id", N_("Category")),
    ("problem_at", N_("When the problem happened")),
    ("problem_place", N_("Where it happened")),
    ("files", N_("Attachments")),
    ("Idempotency-Key", N_("Form")),
)
_TEXT_INPUTS = (
    "kind",
    "channel",
    "title",
    "description",
    "received_at",
    "problem_at",
    "problem_place",
    "category_id",
    "severity_id",
    "idempotency_key",
    *(name for name, _, _ in CUSTOMER_FIELDS),
    *(name for name, _, _ in PRODUCT_FIELDS),
)
_AT_PATH = re.compile(r"at `\$\.([^`]+)`")


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    depth: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterChoices:
    """What the form offers: the tenant's channels, categories (as a tree), severities,
    demand types, and the plugins' extra fields for the kind."""

    channels: list[Choice]
    categories: list[Choice]
    severities: list[Choice]
    demand_types: list[Choice]
    extra_fields: list[FieldSpec]


def _name(row: Any, locale: str) -> str:
    return str(row.name_zh if locale == "zh-CN" else row.name_en)


def _tree(categories: Sequence[Category], kind: str, locale: str) -> list[Choice]:
    """Categories for `kind` in tree order (parents before children), with depth."""
    wanted = [c for c in categories if c.case_kind in (None, kind)]
    children: dict[uuid.UUID | None, list[Category]] = {}
    ids = {c.id for c in wanted}
    for category in wanted:
        parent = category.parent_id if category.parent_id in ids else None
        children.setdefault(parent, []).append(category)
    ordered: list[Choice] = []

    def walk(parent: uuid.UUID | None, depth: int) -> None:
        for category in children.get(parent, []):
            ordered.append(Choice(str(category.id), _name(category, locale), depth))
            walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


async def extra_field_specs(
    session: AsyncSession, settings: Settings, kind: str
) -> list[FieldSpec]:
    """The extra fields the tenant's enabled plugins declare for `kind` (the same hook
    intake checks `extra` against)."""
    plugins = await TenantPlugins.load(session, settings)
    if not plugins.active:
        return []
    outcomes = await plugins.call("extra_fields", kind=kind)
    return [
        spec for outcome in outcomes if outcome.ok and outcome.result for spec in outcome.result
    ]


async def load_choices(
    session: AsyncSession, settings: Settings, *, kind: str, locale: str, actor: str
) -> RegisterChoices:
    categories = await CategoryService(session, actor=actor, settings=settings).list(active=True)
    return RegisterChoices(
        channels=[Choice(c.code, _name(c, locale)) for c in await current.channels(session)],
        categories=_tree(categories, kind, locale),
        severities=[Choice(str(s.id), _name(s, locale)) for s in await current.severities(session)],
        demand_types=[
            Choice(d.code, _name(d, locale)) for d in await current.demand_types(session)
        ],
        extra_fields=await extra_field_specs(session, settings, kind),
    )


def form_values(form: FormMultiDict) -> dict[str, Any]:
    """The posted text inputs (stripped of nothing: what was typed is shown back)."""
    values: dict[str, Any] = {}
    for name in _TEXT_INPUTS:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    values["demands"] = [d for d in form.getall("demands", []) if isinstance(d, str)]
    for key in form:
        if key.startswith("extra."):
            value = form.get(key)
            values[key] = value if isinstance(value, str) else ""
    return values


def _extra_value(spec: FieldSpec, raw: str) -> Any:
    """A typed input as the plugin declared it; what does not parse is sent as typed, so
    that intake names the field and says what it must be."""
    if spec.type == "boolean":
        return raw in ("on", "true", "1")
    if not raw.strip():
        return None
    text = raw.strip()
    try:
        if spec.type == "integer":
            return int(text)
        if spec.type == "number":
            return float(text)
    except ValueError:
        return text
    return text


def intake_body(values: dict[str, Any], specs: Iterable[FieldSpec]) -> CaseCreate:
    """The intake body of the form; `msgspec.ValidationError` when a field does not fit
    the API's own limits (`FormProblems.from_validation` names it)."""

    def given(name: str) -> str | None:
        value = str(values.get(name) or "").strip()
        return value or None

    def group(prefix: str, fields: Iterable[tuple[str, str, str]]) -> dict[str, str] | None:
        found = {name.split(".", 1)[1]: given(name) for name, _, _ in fields}
        kept = {key: value for key, value in found.items() if value is not None}
        return kept or None

    extra: dict[str, Any] = {}
    for spec in specs:
        value = _extra_value(spec, str(values.get(f"extra.{spec.name}") or ""))
        if value is not None:
            extra[spec.name] = value
    body: dict[str, Any] = {
        "kind": given("kind") or "complaint",
        "channel": given("channel") or "",
        # Empty text goes to intake as typed: intake names the empty field.
        "title": str(values.get("title") or "").strip() or " ",
        "description": str(values.get("description") or "").strip() or " ",
        "received_at": given("received_at"),
        "customer": group("customer", CUSTOMER_FIELDS),
        "product": group("product", PRODUCT_FIELDS),
        "problem_at": given("problem_at"),
        "problem_place": given("problem_place"),
        "demands": list(values.get("demands") or []),
        "category_id": given("category_id"),
        "severity_id": given("severity_id"),
        "extra": extra,
    }
    return msgspec.convert(body, CaseCreate, dec_hook=dec_hook)


async def read_uploads(files: Sequence[Any], *, max_bytes: int) -> list[Upload]:
    """The dropped or chosen files, each checked as the attachment API checks it (size,
    type, content) before anything is stored."""
    uploads = []
    for file in files:
        if not isinstance(file, UploadFile) or not file.filename:
            continue
        data = await file.read()
        if not data:
            continue
        if len(data) > max_bytes:
            raise too_large(max_bytes)
        upload = Upload(
            filename=clean_filename(file.filename), content_type=file.content_type, data=data
        )
        check_type(upload)
        uploads.append(upload)
    return uploads


class FormProblems:
    """Problems by input name, in the page's language; `general` for the form as a whole."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.by_field: dict[str, str] = {}
        self.general: list[str] = []

    def labels(self, specs: Iterable[FieldSpec]) -> dict[str, str]:
        """Each input's label in the page's language, by input name."""
        named = [*LABELS, *((n, label) for n, label, _ in (*CUSTOMER_FIELDS, *PRODUCT_FIELDS))]
        found = {name: gettext(self.locale, label) for name, label in named}
        found.update({f"extra.{s.name}": s.description or s.name for s in specs})
        return found

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def add(self, field: str | None, message: str) -> None:
        if field in ("file", "files"):
            field = "files"
        if field is None:
            self.general.append(message)
        else:
            self.by_field.setdefault(field, message)

    def from_validation(self, error: msgspec.ValidationError) -> None:
        found = _AT_PATH.search(str(error))
        path = re.sub(r"\[\d+\]", "", found.group(1)) if found else None
        label = gettext(self.locale, N_("This does not fit: %(detail)s"), detail=str(error))
        self.add(path, label)

    def from_error(self, error: ApiError) -> None:
        """A refusal of the intake service: its message next to each field it names."""
        fields: list[str | None] = [*error.fields] or [None]
        for field in fields:
            self.add(field, self._message(field, error))

    def _message(self, field: str | None, error: ApiError) -> str:
        empty = isinstance(error, UnprocessableEntity) and "empty" in error.message
        if empty and field in ("title", "description"):
            return gettext(self.locale, N_("Fill this in."))
        if "lies in the future" in error.message:
            return gettext(self.locale, N_("This time lies in the future."))
        return error.message
