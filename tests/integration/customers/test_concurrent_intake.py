"""Two intakes naming the same new customer at once make one customer: the second
insert waits for the first to commit, does nothing, and uses the first one's row."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.cases.models import Customer
from closeloop.customers import CustomerInput, CustomerService
from closeloop.db import sessionmaker, transaction
from closeloop.pii.cipher import cipher_for
from closeloop.settings import Settings
from support import PASSWORD, Client, TenantHandle, bearer, login


async def test_the_second_insert_of_a_new_ref_uses_the_first_ones_customer(
    app_engine: AsyncEngine,
    settings: Settings,
    tenant: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = sessionmaker(app_engine)
    inserting = asyncio.Event()
    inserted: list[Customer | None] = []
    insert = CustomerService._insert

    async def watched_insert(self: CustomerService, data: CustomerInput) -> Customer | None:
        inserting.set()
        made = await insert(self, data)
        inserted.append(made)
        return made

    monkeypatch.setattr(CustomerService, "_insert", watched_insert)
    async with transaction(factory, tenant.id) as session:
        await cipher_for(session, settings)  # the tenant's key, committed

    async def intake(phone: str, started: asyncio.Event | None = None) -> Customer:
        async with transaction(factory, tenant.id) as session:
            found = await CustomerService(
                session, principal=None, settings=settings
            ).resolve_for_intake(CustomerInput(external_ref="C-77", nickname="小李", phone=phone))
            if started is not None:
                await started.wait()  # holds its insert uncommitted until told
            return found

    first_may_commit = asyncio.Event()
    first = asyncio.create_task(intake("13812345678", first_may_commit))
    await asyncio.wait_for(inserting.wait(), 10)  # the first inserted, not committed
    inserting.clear()
    second = asyncio.create_task(intake("13900000000"))
    await asyncio.wait_for(inserting.wait(), 10)  # the second found nothing, inserts
    first_may_commit.set()
    winner, loser = await asyncio.wait_for(asyncio.gather(first, second), 10)

    assert loser.id == winner.id
    assert [made is not None for made in inserted] == [True, False]
    async with transaction(factory, tenant.id) as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_id == winner.id)
                .order_by(AuditEntry.seq)
            )
        ).all()
        customer = await session.get(Customer, (tenant.id, winner.id))
    # The loser filled in what the winner's record lacked (here: nothing, both gave a
    # phone), like any later intake of the same customer.
    assert list(actions) == ["customer.create"]
    assert customer is not None
    assert customer.nickname == "小李"


async def _agent(client: Client, tenant: TenantHandle) -> dict[str, str]:
    email = f"agent@{tenant.slug}.example.com"
    body = {"email": email, "display_name": "agent", "password": PASSWORD, "roles": ["agent"]}
    response = await client.post("/api/v1/users/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    return bearer(await login(client, tenant.slug, email))


def _intake_body(title: str) -> dict[str, Any]:
    return {
        "kind": "complaint",
        "channel": "phone",
        "title": title,
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": {"external_ref": "C-88", "nickname": "小王", "phone": "13812345678"},
    }


async def test_concurrent_intakes_of_a_new_customer_make_one_customer(
    client: Client, tenant: TenantHandle
) -> None:
    agent = await _agent(client, tenant)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/cases", headers=agent, json=_intake_body(f"快递延误 {i}"))
            for i in range(4)
        )
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    customer_ids = {r.json()["customer"]["id"] for r in responses}
    assert len(customer_ids) == 1
    found = await client.get("/api/v1/customers", headers=agent, params={"external_ref": "C-88"})
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()] == list(customer_ids)
