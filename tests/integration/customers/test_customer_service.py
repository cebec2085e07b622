"""CustomerService on the real database: find-or-create at intake, blind index, masks."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.config.models import TenantProfile
from closeloop.customers import CustomerInput, CustomerService
from closeloop.db import sessionmaker, transaction
from closeloop.errors import UnprocessableEntity
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from support import TenantHandle


def _principal(tenant: TenantHandle, *, pii: bool) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        roles=frozenset({"agent"}),
        permissions=frozenset({"pii"} if pii else set()),
        user_id=tenant.admin_id,
    )


async def test_intake_finds_the_same_customer_by_ref_phone_or_email(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=False), settings=settings
        )
        first = await service.resolve_for_intake(
            CustomerInput(external_ref="C-1", nickname="小张", name="张三", phone="13812345678")
        )
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=False), settings=settings
        )
        by_ref = await service.resolve_for_intake(CustomerInput(external_ref="C-1"))
        by_phone = await service.resolve_for_intake(CustomerInput(phone="+86 138-1234-5678"))
        filled = await service.resolve_for_intake(
            CustomerInput(phone="138 1234 5678", email="Zhang@Example.com")
        )
        by_email = await service.resolve_for_intake(CustomerInput(email="zhang@example.com"))
        other = await service.resolve_for_intake(CustomerInput(phone="13900000000"))
    assert by_ref.id == by_phone.id == filled.id == by_email.id == first.id
    assert other.id != first.id


async def test_view_masks_without_pii_and_audits_with_it(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=False), settings=settings
        )
        customer = await service.resolve_for_intake(CustomerInput(name="张三", phone="13812345678"))
        masked = await service.view(customer)
        reads = await session.scalar(
            select(text("count(*)"))
            .select_from(AuditEntry)
            .where(AuditEntry.action == "customer.pii_read")
        )
    assert (masked.name, masked.phone, masked.masked) == ("张*", "138****5678", True)
    assert reads == 0
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=True), settings=settings
        )
        plain = await service.view(customer)
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "customer.pii_read")
        )
    assert (plain.name, plain.phone) == ("张三", "13812345678")
    assert entry is not None
    assert entry.entity_id == customer.id
    assert entry.after == {"fields": ["name", "phone"]}


async def test_no_pii_tenant_refuses_pii_fields(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        profile = await session.scalar(select(TenantProfile))
        assert profile is not None
        profile.pii_mode = "none"
    sent = CustomerInput(nickname="x", phone="13812345678", name="张三")
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=False), settings=settings
        )
        with pytest.raises(UnprocessableEntity) as refused:
            await service.resolve_for_intake(sent)
    assert refused.value.code == "pii_not_allowed"
    assert refused.value.fields == ["name", "phone"]
    async with transaction(factory, tenant.id) as session:
        service = CustomerService(
            session, principal=_principal(tenant, pii=False), settings=settings
        )
        ok = await service.resolve_for_intake(CustomerInput(nickname="x"))
        assert ok.nickname == "x"
