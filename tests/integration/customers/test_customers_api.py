"""Customers through the API: PII encrypted at rest, masked without `pii`, audited with it,
searchable by exact phone or e-mail, refused in no-PII tenants, erasable."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.cases.models import Case, CaseEvent, Customer
from closeloop.cases.search import search_vector
from closeloop.config.models import TenantProfile
from closeloop.customers import CustomerInput, CustomerService
from closeloop.db import new_id, sessionmaker, transaction, utcnow
from closeloop.errors import UnprocessableEntity
from closeloop.settings import Settings
from support import PASSWORD, Client, TenantHandle, bearer, login

NAME, PHONE, EMAIL, ID_NUMBER = (
    "张三丰",
    "13812345678",
    "zhang.sanfeng@example.com",
    "110101199003074512",
)
PLAINTEXTS = (NAME, PHONE, EMAIL, ID_NUMBER)


async def _customer(
    engine: AsyncEngine, settings: Settings, tenant: TenantHandle, **fields: Any
) -> uuid.UUID:
    data = {
        "nickname": "三丰",
        "name": NAME,
        "phone": PHONE,
        "email": EMAIL,
        "id_number": ID_NUMBER,
    }
    data.update(fields)
    async with transaction(sessionmaker(engine), tenant.id) as session:
        customer = await CustomerService(
            session, principal=None, settings=settings
        ).resolve_for_intake(CustomerInput(**data))
    return customer.id


async def _user(client: Client, tenant: TenantHandle, name: str, **extra: Any) -> dict[str, str]:
    email = f"{name}@{tenant.slug}.example.com"
    body = {"email": email, "display_name": name, "password": PASSWORD, "roles": ["agent"]}
    body.update(extra)
    response = await client.post("/api/v1/users/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    return bearer(await login(client, tenant.slug, email))


async def _rows_as(engine: AsyncEngine, tenant: TenantHandle, table: str) -> list[str]:
    """Every row of `table` of the tenant, as PostgreSQL prints it (bytea as hex)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        result = await conn.execute(text(f"SELECT t::text FROM {table} t"))
        return [row[0] for row in result]


def _contains_plaintext(rows: list[str]) -> list[str]:
    found = []
    for value in PLAINTEXTS:
        hex_value = value.encode().hex()
        found += [value for row in rows if value in row or hex_value in row]
    return found


async def _pii_reads(engine: AsyncEngine, tenant: TenantHandle) -> list[AuditEntry]:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        query = select(AuditEntry).where(AuditEntry.action == "customer.pii_read")
        return list((await session.scalars(query)).all())


async def test_pii_is_stored_only_encrypted(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    await _customer(app_engine, settings, tenant)
    for engine in (owner_engine, app_engine):
        rows = await _rows_as(engine, tenant, "customers")
        assert len(rows) == 1
        assert _contains_plaintext(rows) == []
        assert _contains_plaintext(await _rows_as(engine, tenant, "audit_entries")) == []
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        customer = await session.scalar(select(Customer))
    assert customer is not None
    assert customer.phone_hash is not None
    assert customer.email_hash is not None
    assert customer.name_enc is not None
    assert NAME.encode() not in customer.name_enc


@pytest.mark.parametrize(
    "query",
    [
        {"phone": "13812345678"},
        {"phone": "+86 138-1234-5678"},
        {"phone": "(138) 1234 5678"},
        {"phone": "0086 138 1234 5678"},
        {"email": "Zhang.Sanfeng@EXAMPLE.com "},
        {"phone": "+86 13812345678", "email": EMAIL},
        {"external_ref": "CRM-7"},
    ],
)
async def test_search_finds_the_exact_phone_or_email_in_any_format(
    client: Client,
    app_engine: AsyncEngine,
    settings: Settings,
    tenant: TenantHandle,
    query: dict[str, str],
) -> None:
    wanted = await _customer(app_engine, settings, tenant, external_ref="CRM-7")
    await _customer(
        app_engine, settings, tenant, phone="13812345679", email="other@example.com", name="李四"
    )
    response = await client.get("/api/v1/customers", headers=tenant.headers, params=query)
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()] == [str(wanted)]


async def test_search_for_a_near_miss_finds_nothing(
    client: Client, app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    await _customer(app_engine, settings, tenant)
    for query in ({"phone": "1381234567"}, {"phone": "abc"}, {"email": "zhang@example.com"}):
        response = await client.get("/api/v1/customers", headers=tenant.headers, params=query)
        assert response.status_code == 200, response.text
        assert response.json() == [], query


async def test_without_pii_permission_nothing_is_shown_in_plaintext(
    client: Client, app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    customer_id = await _customer(app_engine, settings, tenant)
    # An admin without `pii` (a tenant's first admin has it) sees no more than an agent.
    admin = await _user(client, tenant, "second-admin", roles=["admin"])
    agent = await _user(client, tenant, "agent")
    for headers in (admin, agent):
        one = await client.get(f"/api/v1/customers/{customer_id}", headers=headers)
        found = await client.get("/api/v1/customers", headers=headers, params={"phone": PHONE})
        listed = await client.get("/api/v1/customers", headers=headers)
        for response in (one, found, listed):
            assert response.status_code == 200, response.text
            assert not [v for v in PLAINTEXTS if v in response.text]
        body = one.json()
        assert body["name"] == "张**"
        assert body["phone"] == "138****5678"
        assert body["email"] == "z************@example.com"
        assert body["id_number"] == "110***********4512"
        assert body["masked"] is True
    assert await _pii_reads(app_engine, tenant) == []


async def test_with_pii_permission_the_read_is_plain_and_audited(
    client: Client, app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    customer_id = await _customer(app_engine, settings, tenant)
    reader = await _user(client, tenant, "reader", permissions=["pii"])
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=reader)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["phone"], body["email"]) == (NAME, PHONE, EMAIL)
    assert body["masked"] is False
    found = await client.get("/api/v1/customers", headers=reader, params={"phone": PHONE})
    assert found.json()[0]["phone"] == PHONE

    reads = await _pii_reads(app_engine, tenant)
    assert len(reads) == 2
    assert {r.entity_id for r in reads} == {customer_id}
    assert reads[0].actor.startswith("user:")
    assert reads[0].after == {"fields": ["name", "phone", "email", "id_number"]}
    listing = await client.get(
        "/api/v1/audit",
        headers=tenant.headers,
        params={"action": "customer.pii_read", "entity_id": str(customer_id)},
    )
    assert len(listing.json()["items"]) == 2


async def test_a_no_pii_tenant_refuses_pii_fields_and_writes_nothing(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        profile = await session.scalar(select(TenantProfile))
        assert profile is not None
        profile.pii_mode = "none"

    async def counts() -> tuple[int | None, int | None]:
        async with transaction(factory, tenant.id) as session:
            customers = await session.scalar(select(func.count()).select_from(Customer))
            entries = await session.scalar(select(func.count()).select_from(AuditEntry))
        return customers, entries

    before = await counts()
    with pytest.raises(UnprocessableEntity) as refused:
        await _customer(app_engine, settings, tenant, name=None, id_number=None)
    assert refused.value.status_code == 422
    assert refused.value.code == "pii_not_allowed"
    assert refused.value.fields == ["phone", "email"]
    assert "phone" in refused.value.message
    assert await counts() == before
    # Nickname and external reference are not personal data: accepted.
    await _customer(app_engine, settings, tenant, name=None, phone=None, email=None, id_number=None)


async def test_erasure_removes_pii_and_keeps_the_cases(
    client: Client,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    settings: Settings,
    tenant: TenantHandle,
) -> None:
    customer_id = await _customer(app_engine, settings, tenant, external_ref="CRM-9")
    case_id = new_id()
    typed_in = "张三丰 says: call +86 138-1234-5678 or mail Zhang.Sanfeng@Example.com"
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        session.add(
            Case(
                tenant_id=tenant.id,
                id=case_id,
                number="T-1",
                kind="complaint",
                status="new",
                channel="phone",
                received_at=utcnow(),
                title="noisy fridge of 张三丰",
                description=f"it hums all night. {typed_in}; order 4711",
                product={"warranty_card": f"holder {NAME}, id {ID_NUMBER}"},
                customer_id=customer_id,
                search=search_vector("T-1", "noisy fridge", typed_in, "三丰"),
            )
        )
        await session.flush()
        session.add(
            CaseEvent(
                tenant_id=tenant.id,
                case_id=case_id,
                type="progress",
                actor="user:x",
                data={"note": f"called {PHONE}", "count": 1},
            )
        )
    agent = await _user(client, tenant, "agent")
    refused = await client.post(f"/api/v1/customers/{customer_id}/erase", headers=agent)
    assert refused.status_code == 403

    response = await client.post(f"/api/v1/customers/{customer_id}/erase", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["erased"] is True
    assert body["nickname"] == "erased"
    assert [body[f] for f in ("name", "phone", "email", "id_number", "external_ref")] == [None] * 5

    async with transaction(sessionmaker(owner_engine), tenant.id) as session:
        customer = await session.get(Customer, (tenant.id, customer_id))
        case = await session.get(Case, (tenant.id, case_id))
    assert customer is not None
    assert customer.erased_at is not None
    assert [customer.name_enc, customer.phone_enc, customer.email_enc, customer.id_number_enc] == [
        None
    ] * 4
    assert (customer.phone_hash, customer.email_hash) == (None, None)
    assert case is not None
    assert case.customer_id == customer_id
    assert case.title == "noisy fridge of [erased]"
    assert case.description == (
        "it hums all night. [erased] says: call [erased] or mail [erased]; order 4711"
    )
    assert case.version == 2
    for table in ("customers", "cases", "case_events"):
        rows = await _rows_as(owner_engine, tenant, table)
        assert _contains_plaintext(rows) == [], table
        assert "三丰" not in "".join(rows), table

    for query in ({"phone": PHONE}, {"email": EMAIL}, {"external_ref": "CRM-9"}):
        found = await client.get("/api/v1/customers", headers=tenant.headers, params=query)
        assert found.json() == [], query
    erased = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"action": "customer.erase"}
    )
    assert [e["entity_id"] for e in erased.json()["items"]] == [str(customer_id)]
    again = await client.post(f"/api/v1/customers/{customer_id}/erase", headers=tenant.headers)
    assert again.status_code == 200
    # A new intake with the same phone is a new customer, not the erased one.
    assert await _customer(app_engine, settings, tenant) != customer_id


async def test_another_tenants_customer_is_not_found(
    client: Client,
    app_engine: AsyncEngine,
    settings: Settings,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
) -> None:
    customer_id = await _customer(app_engine, settings, tenant)
    for method, path in (
        ("GET", f"/api/v1/customers/{customer_id}"),
        ("POST", f"/api/v1/customers/{customer_id}/erase"),
    ):
        response = await client.request(method, path, headers=other_tenant.headers)
        assert response.status_code == 404, response.text
    found = await client.get(
        "/api/v1/customers", headers=other_tenant.headers, params={"phone": PHONE}
    )
    assert found.json() == []
