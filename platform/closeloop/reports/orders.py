"""The orders a tenant took over some days: the denominator of the complaint rate.

`PUT /api/v1/reports/order-volumes/{from}/{to}` records (or replaces) the orders of
those days; every change is audited (`report.order_volume`).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy import select

from closeloop.crud import TenantCallerService
from closeloop.db import new_id
from closeloop.errors import UnprocessableEntity
from closeloop.reports.models import OrderVolume

__all__ = ["OrderVolumeIn", "OrderVolumeRead", "OrderVolumeService"]

MAX_DAYS = 366


class OrderVolumeIn(msgspec.Struct, forbid_unknown_fields=True):
    orders: int


class OrderVolumeRead(msgspec.Struct):
    id: uuid.UUID
    date_from: dt.date = msgspec.field(name="from")
    date_to: dt.date = msgspec.field(name="to")
    orders: int


def _read(row: OrderVolume) -> OrderVolumeRead:
    return OrderVolumeRead(row.id, row.date_from, row.date_to, row.orders)


class OrderVolumeService(TenantCallerService):
    async def list(self) -> list[OrderVolumeRead]:
        rows = await self.session.scalars(
            select(OrderVolume).order_by(OrderVolume.date_from, OrderVolume.date_to)
        )
        return [_read(row) for row in rows]

    async def put(self, date_from: dt.date, date_to: dt.date, orders: int) -> OrderVolumeRead:
        """Record the orders of `date_from`..`date_to` (inclusive), replacing a figure
        recorded for exactly those days; 422 naming the field at fault."""
        if date_to < date_from:
            raise UnprocessableEntity("to is before from", field="to")
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise UnprocessableEntity(f"at most {MAX_DAYS} days", field="to")
        if orders < 0:
            raise UnprocessableEntity("orders must not be negative", field="orders")
        row = await self.session.scalar(
            select(OrderVolume).where(
                OrderVolume.date_from == date_from, OrderVolume.date_to == date_to
            )
        )
        before = {"orders": row.orders} if row is not None else None
        if row is None:
            row = OrderVolume(
                tenant_id=self.tenant_id,
                id=new_id(),
                date_from=date_from,
                date_to=date_to,
                orders=orders,
            )
            self.session.add(row)
        else:
            row.orders = orders
        await self.session.flush()
        await self.record(
            "report.order_volume",
            "order_volume",
            row.id,
            before=before,
            after={"from": date_from.isoformat(), "to": date_to.isoformat(), "orders": orders},
        )
        return _read(row)
