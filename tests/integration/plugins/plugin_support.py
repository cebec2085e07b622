"""Small plugins written for the tests, installed with `registered_plugins()` (the
manager's test hook: no entry points, no packaging), and helpers around them."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import hookimpl
from closeloop.db import sessionmaker, transaction
from closeloop.queue.models import OutboxMessage
from closeloop.queue.registry import actor_spec
from support import Client, TenantHandle


class Recorder:
    """Answers every hook with a valid result and records each call's arguments.

    Its `Settings` carry a secret (`api_key`) and the codes it answers with."""

    NAME = "recorder"
    VERSION = "1.2.3"
    DESCRIPTION = "Records every call (tests)"
    SECRET_FIELDS = ("api_key",)

    class Settings(msgspec.Struct):
        severity: str = "urgent"
        window_minutes: int = 60
        threshold: int = 3
        api_key: str = ""
        notify_to: str = ""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def _seen(self, hook: str, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((hook, kwargs))

    def called(self, hook: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == hook]

    @hookimpl
    def extra_fields(self, kind: str, tenant: Any) -> list[dict[str, Any]]:
        self._seen("extra_fields", kind=kind, tenant=tenant)
        return [
            {"name": "serial", "type": "string", "required": True},
            {"name": "units", "type": "integer"},
            {"name": "cause", "type": "enum", "choices": ["wear", "defect"]},
            {"name": "bought_on", "type": "date"},
        ]

    @hookimpl
    def validate_intake(
        self, case: Any, tenant_settings: Any, settings: Any
    ) -> list[dict[str, str]]:
        self._seen("validate_intake", case=case, tenant_settings=tenant_settings, settings=settings)
        issues = [{"field": "extra.serial", "message": "serial looks odd", "level": "warning"}]
        if case.extra.get("serial") == "REFUSE":
            issues.append(
                {"field": "extra.serial", "message": "serial is blocked", "level": "error"}
            )
        return issues

    @hookimpl
    def classify_case(self, case: Any) -> dict[str, Any]:
        self._seen("classify_case", case=case)
        return {"category": {"code": "logistics_delay", "reason": "courier", "confidence": 0.8}}

    @hookimpl
    def assess_severity(self, case: Any, settings: Any, tenant: Any) -> dict[str, Any]:
        self._seen("assess_severity", case=case, settings=settings, tenant=tenant)
        return {"severity": settings.severity, "reasons": ["recorded"]}

    @hookimpl
    def check_entitlement(self, case: Any) -> dict[str, Any]:
        self._seen("check_entitlement", case=case)
        return {"kind": "refund", "eligible": True, "rule": "test.always", "details": {}}

    @hookimpl
    def suggest_resolution(self, case: Any) -> list[dict[str, Any]]:
        self._seen("suggest_resolution", case=case)
        return [
            {
                "solution_type": "refund",
                "description": "refund the order",
                "cost_bearer": "third_party",
                "amount": "19.90",
                "responsible_party": "carrier",
            }
        ]

    @hookimpl
    def correlate_case(self, case: Any, settings: Any) -> dict[str, Any]:
        self._seen("correlate_case", case=case)
        return {
            "key": f"product:{case.product.get('model')}",
            "label": f"model {case.product.get('model')}",
            "window_minutes": settings.window_minutes,
            "threshold": settings.threshold,
        }

    @hookimpl
    def on_case_event(self, event: Any, settings: Any) -> list[dict[str, Any]]:
        self._seen("on_case_event", event=event, settings=settings)
        actions: list[dict[str, Any]] = [{"type": "flag", "label": f"saw {event.type}"}]
        if settings.notify_to:
            actions.append(
                {
                    "type": "notify_email",
                    "to": settings.notify_to,
                    "subject": "Heads up",
                    "body": "x",
                }
            )
        return actions


class Faulty:
    """Fails the way it is told: `raise`, `garbage` or `sleep` (past a short budget);
    any other mode answers None at once."""

    VERSION = "0.0.1"

    def __init__(self, mode: str) -> None:
        self.NAME = f"faulty_{mode}"
        self.mode = mode
        self.calls = 0

    @hookimpl
    def classify_case(self, case: Any) -> Any:
        self.calls += 1
        if self.mode == "raise":
            raise RuntimeError("the classifier broke")
        if self.mode == "garbage":
            return {"category": "not a suggestion"}
        if self.mode == "sleep":
            time.sleep(0.6)
        return None


async def put_plugin(
    client: Client, tenant: TenantHandle, name: str, **body: Any
) -> dict[str, Any]:
    response = await client.put(f"/api/v1/plugins/{name}", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def findings(client: Client, tenant: TenantHandle, case_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/cases/{case_id}/findings", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def timeline(client: Client, tenant: TenantHandle, case_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    events: list[dict[str, Any]] = body["items"]
    return events


async def count(engine: AsyncEngine, tenant_id: uuid.UUID, model: Any, *where: Any) -> int:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        query = select(func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)
        return int((await session.execute(query)).scalar_one())


async def run_jobs(engine: AsyncEngine, tenant_id: uuid.UUID, actor_name: str) -> int:
    """Run the committed outbox jobs of `actor_name` as a worker would (the actor's own
    `handle`, which claims each message); the number run."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        jobs = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == actor_name)
            )
        ).all()
    spec = actor_spec(actor_name)
    for job in jobs:
        await spec.handle(
            message_id=str(job.id),
            kwargs={**job.args, "tenant_id": str(tenant_id)},
            sessionmaker=sessionmaker(engine),
        )
    return len(jobs)
