"""Customer rules: find-or-create at intake, masked or audited reads, exact search, erasure.

Personal data (name, phone, e-mail, ID number) is only ever stored encrypted under the
tenant's data key; phone and e-mail also get a keyed hash (blind index) so an exact
number or address finds its customer without plaintext in the database. A reader
without the `pii` permission sees masks; every unmasked read writes an audit entry in
the reading transaction. A tenant in no-PII mode refuses PII fields outright.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select

from closeloop import rows
from closeloop.cases.models import Customer
from closeloop.config import current
from closeloop.crud import CallerService
from closeloop.customers._erasure import redact_cases, redactor
from closeloop.customers.schemas import CustomerInput, CustomerRead
from closeloop.db import bound_tenant, new_id, utcnow
from closeloop.errors import NotFound, UnprocessableEntity
from closeloop.pii.cipher import (
    TenantCipher,
    cipher_for,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_email,
    normalize_phone,
)

__all__ = ["ERASED_NICKNAME", "PII_FIELDS", "CustomerService"]

PII_FIELDS = ("name", "phone", "email", "id_number")
ERASED_NICKNAME = "erased"
_MASKS = {"name": mask_name, "phone": mask_phone, "email": mask_email, "id_number": mask_id_number}


def _clean(value: str | None) -> str | None:
    """Surrounding blanks dropped; an empty value is no value."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _searchable(kind: str, value: str) -> bool:
    """A phone without digits or an e-mail that is only blanks has no blind index."""
    return bool(normalize_phone(value) if kind == "phone" else normalize_email(value))


def _by_contact(phone: bool, email: bool) -> rows.Query:
    table: Table = Customer.__table__  # type: ignore[assignment]
    query = (
        select(*table.c)
        .where(table.c.tenant_id == bindparam("tenant_id"))
        .order_by(table.c.created_at, table.c.id)
    )
    if phone:
        query = query.where(table.c.phone_hash == bindparam("phone_hash"))
    if email:
        query = query.where(table.c.email_hash == bindparam("email_hash"))
    return rows.Query(query)


# Built once, run through the driver: a new customer, unless one with the same
# external ref was stored first (then nothing).
_INSERT_CUSTOMER = rows.InsertNew(Customer)


# Built once, run through the driver (`rows.Query`; every intake with a customer
# looks one up): customers by phone, e-mail or both.
_BY_CONTACT = {
    (True, False): _by_contact(phone=True, email=False),
    (False, True): _by_contact(phone=False, email=True),
    (True, True): _by_contact(phone=True, email=True),
}


class CustomerService(CallerService):
    """Customers of the session's bound tenant.

    `principal` is the caller (None for the public intake form, audited as `public`);
    `actor` names who the audit trail records instead, for work done on a caller's
    behalf without a principal (an import run names the admin who started it).
    """

    def _tenant(self) -> uuid.UUID:
        tenant_id = bound_tenant(self.session)
        assert tenant_id is not None, "CustomerService needs a tenant-bound session"
        return tenant_id

    async def _cipher(self) -> TenantCipher:
        return await cipher_for(self.session, self.settings)

    async def pii_mode(self) -> str:
        """The tenant's PII mode; a tenant without a profile yet is `normal`."""
        return await current.pii_mode(self.session)

    async def check_pii_allowed(self, data: CustomerInput) -> None:
        """422 `pii_not_allowed`, naming the fields, when a no-PII tenant is sent PII."""
        sent = [f for f in PII_FIELDS if _clean(getattr(data, f)) is not None]
        if sent and await self.pii_mode() == "none":
            raise UnprocessableEntity(
                f"this tenant keeps no personal data; remove {', '.join(sent)}",
                code="pii_not_allowed",
                field=sent,
            )

    # -- intake ---------------------------------------------------------------------

    async def resolve_for_intake(self, data: CustomerInput) -> Customer:
        """The existing customer (by external ref, else phone, else e-mail) or a new one.

        PII the existing record lacks is filled in; what it has is kept.
        """
        await self.check_pii_allowed(data)
        external_ref = _clean(data.external_ref)
        phone, email = _clean(data.phone), _clean(data.email)
        customer = await self._find_existing(external_ref=external_ref, phone=phone, email=email)
        if customer is None:
            customer = await self._insert(data)
            if customer is not None:
                await self._audit("create", customer, after=self._audit_shape(customer))
                return customer
            # A concurrent intake created the same external ref first: theirs is the one.
            customer = await self._find_existing(external_ref=external_ref, phone=None, email=None)
            if customer is None:
                raise RuntimeError("a new customer conflicted with no visible one")
        before = self._audit_shape(customer)
        missing = await self._missing(customer, data)
        if missing:
            for column, value in missing.items():
                setattr(customer, column, value)
            await self.session.flush()
            await self._audit("update", customer, before=before, after=self._audit_shape(customer))
        return customer

    async def _find_existing(
        self, *, external_ref: str | None, phone: str | None, email: str | None
    ) -> Customer | None:
        if external_ref is not None:
            found = await self.session.scalar(
                select(Customer).where(Customer.external_ref == external_ref)
            )
            if found is not None:
                return found
        for kind, value in (("phone", phone), ("email", email)):
            if value is None:
                continue
            matches = await self.find_by_contact(**{kind: value})
            if matches:
                return matches[0]
        return None

    async def _insert(self, data: CustomerInput) -> Customer | None:
        """The new customer made from `data`, or None when its external ref was taken
        meanwhile (the insert waits for a concurrent one to commit, then does nothing)."""
        draft = rows.new(
            Customer, tenant_id=self._tenant(), id=new_id(), **await self._missing(None, data)
        )
        return draft if await _INSERT_CUSTOMER.insert(self.session, draft) else None

    async def _missing(self, customer: Customer | None, data: CustomerInput) -> dict[str, Any]:
        """The columns `data` gives that `customer` (None: a new one) lacks, with their
        values: PII encrypted, phone and e-mail also as blind index."""

        def lacks(column: str) -> bool:
            return customer is None or getattr(customer, column) is None

        missing: dict[str, Any] = {}
        for field in ("external_ref", "nickname", "locale"):
            value = _clean(getattr(data, field))
            if value is not None and lacks(field):
                missing[field] = value
        values = {f: _clean(getattr(data, f)) for f in PII_FIELDS}
        if not any(values.values()):
            return missing
        cipher = await self._cipher()
        for field, value in values.items():
            if value is None or not lacks(f"{field}_enc"):
                continue
            missing[f"{field}_enc"] = cipher.encrypt(value)
            if field in ("phone", "email") and _searchable(field, value):
                missing[f"{field}_hash"] = cipher.blind_index(field, value)
        return missing

    async def _audit(
        self,
        action: str,
        customer: Customer,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await self.record(f"customer.{action}", "customer", customer.id, before=before, after=after)

    @staticmethod
    def _audit_shape(customer: Customer) -> dict[str, Any]:
        """What the audit trail keeps of a customer: which fields are held, never their
        values (the trail is append-only and must not outlive an erasure)."""
        fields = ("external_ref", "nickname", "locale")
        return {
            "held": [f for f in fields if getattr(customer, f) is not None]
            + [f for f in PII_FIELDS if getattr(customer, f"{f}_enc") is not None],
            "erased": customer.erased_at is not None,
        }

    # -- reading --------------------------------------------------------------------

    async def get(self, customer_id: uuid.UUID) -> Customer:
        customer = await self.session.get(Customer, (self._tenant(), customer_id))
        if customer is None:
            raise NotFound("no such customer")
        return customer

    async def view(self, customer: Customer) -> CustomerRead:
        """The customer as the caller may see it; an unmasked read of PII is audited."""
        plain: dict[str, str | None] = dict.fromkeys(PII_FIELDS)
        held = [f for f in PII_FIELDS if getattr(customer, f"{f}_enc") is not None]
        if held:
            cipher = await self._cipher()
            for field in held:
                plain[field] = cipher.decrypt(getattr(customer, f"{field}_enc"))
        unmasked = self.principal is not None and self.principal.may_see_pii
        shown_fields = [f for f in held if plain[f]]
        if unmasked and shown_fields:
            await self._audit("pii_read", customer, after={"fields": shown_fields})
        shown = plain if unmasked else {f: _MASKS[f](v) if v else v for f, v in plain.items()}
        return CustomerRead(
            id=customer.id,
            external_ref=customer.external_ref,
            nickname=customer.nickname,
            name=shown["name"],
            phone=shown["phone"],
            email=shown["email"],
            id_number=shown["id_number"],
            erased=customer.erased_at is not None,
            locale=customer.locale,
            masked=not unmasked,
        )

    async def find_by_contact(
        self, *, phone: str | None = None, email: str | None = None
    ) -> list[Customer]:
        """Customers whose phone and/or e-mail is exactly this (any formatting of the number)."""
        phone, email = _clean(phone), _clean(email)
        if phone is None and email is None:
            return []
        if (phone is not None and not _searchable("phone", phone)) or (
            email is not None and not _searchable("email", email)
        ):
            return []
        cipher = await self._cipher()
        params: dict[str, Any] = {"tenant_id": self._tenant()}
        if phone is not None:
            params["phone_hash"] = cipher.blind_index("phone", phone)
        if email is not None:
            params["email_hash"] = cipher.blind_index("email", email)
        query = _BY_CONTACT[(phone is not None, email is not None)]
        found = await query.fetch(self.session, **params)
        return [rows.loaded(self.session, Customer, record) for record in found]

    async def search(
        self,
        *,
        phone: str | None = None,
        email: str | None = None,
        external_ref: str | None = None,
        limit: int = 50,
    ) -> Sequence[Customer]:
        """Exact search; every given criterion must match. No criterion: the newest."""
        phone, email, external_ref = _clean(phone), _clean(email), _clean(external_ref)
        query = select(Customer).order_by(Customer.created_at.desc(), Customer.id).limit(limit)
        if phone is not None or email is not None:
            if (phone is not None and not _searchable("phone", phone)) or (
                email is not None and not _searchable("email", email)
            ):
                return []
            cipher = await self._cipher()
            if phone is not None:
                query = query.where(Customer.phone_hash == cipher.blind_index("phone", phone))
            if email is not None:
                query = query.where(Customer.email_hash == cipher.blind_index("email", email))
        if external_ref is not None:
            query = query.where(Customer.external_ref == external_ref)
        return (await self.session.scalars(query)).all()

    # -- erasure --------------------------------------------------------------------

    async def erase(self, customer_id: uuid.UUID) -> Customer:
        """Remove the customer's personal data, from the record and from the text of their
        cases (`_erasure`); the record and its cases stay for statistics.

        Idempotent: erasing an erased customer changes nothing and writes no entry.
        """
        customer = await self.get(customer_id)
        if customer.erased_at is not None:
            return customer
        before = self._audit_shape(customer)
        held = {f: getattr(customer, f"{f}_enc") for f in PII_FIELDS}
        plain: dict[str, str | None] = dict.fromkeys(PII_FIELDS)
        if any(held.values()):
            cipher = await self._cipher()
            plain.update({f: cipher.decrypt(blob) for f, blob in held.items() if blob})
        cases_redacted = await redact_cases(self.session, customer.id, redactor(plain))
        for field in PII_FIELDS:
            setattr(customer, f"{field}_enc", None)
        customer.phone_hash = None
        customer.email_hash = None
        customer.external_ref = None
        customer.nickname = ERASED_NICKNAME
        customer.erased_at = utcnow()
        await self.session.flush()
        await self._audit(
            "erase",
            customer,
            before=before,
            after={**self._audit_shape(customer), "cases_redacted": cases_redacted},
        )
        return customer
