"""Webhooks: a receiver started by the test gets a correctly signed JSON body, and is
retried after answering 500; each attempt is in the endpoint's delivery log. The secret
is write-only."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import dramatiq
import notify_support as ns
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of

SECRET = "whsec-0123456789abcdef"


async def _webhook(client: Client, tenant: TenantHandle, url: str, *events: str) -> str:
    response = await client.post(
        "/api/v1/webhooks/",
        headers=tenant.headers,
        json={"url": url, "secret": SECRET, "events": list(events), "description": "CRM"},
    )
    assert response.status_code == 201, response.text
    assert "secret" not in response.json()
    return str(response.json()["id"])


async def test_a_signed_body_is_delivered_and_retried_after_a_500(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, broker: dramatiq.Broker
) -> None:
    with ns.WebhookReceiver(answers=[500]) as receiver:
        webhook_id = await _webhook(client, tenant, receiver.url, "acknowledgement")
        response = await client.post(
            "/api/v1/cases",
            headers=tenant.headers,
            json={
                "kind": "complaint",
                "channel": "phone",
                "title": "Parcel late",
                "description": "A week late.",
                "customer": {"nickname": "Sam", "phone": "13812345678"},
            },
        )
        assert response.status_code == 201, response.text
        case = response.json()
        await ns.relay(app_engine, broker)

        async def delivered() -> bool:
            found = await ns.notifications(app_engine, tenant.id)
            return any(n.channel == "webhook" and n.status == "sent" for n in found)

        await ns.eventually(delivered)

    assert len(receiver.requests) == 2  # the 500, then the retry
    first, second = receiver.requests
    assert first.body == second.body
    for request in receiver.requests:
        timestamp = request.headers["X-Closeloop-Timestamp"]
        assert abs(int(timestamp) - time.time()) < 120
        expected = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["X-Closeloop-Signature"] == f"sha256={expected}"
        assert request.headers["Content-Type"] == "application/json"
    body = json.loads(second.body)
    assert body["event"] == "acknowledgement"
    assert body["tenant"] == "acme"
    assert body["case"]["number"] == case["number"]
    assert body["case"]["id"] == case["id"]
    assert case["number"] in body["subject"]
    assert "13812345678" not in second.body.decode()

    log = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=tenant.headers)
    assert log.status_code == 200, log.text
    attempts = sorted(log.json(), key=lambda d: d["attempt"])
    assert [(d["attempt"], d["status_code"]) for d in attempts] == [(1, 500), (2, 200)]
    assert attempts[0]["error"].startswith("HTTP 500")
    assert attempts[1]["error"] is None
    assert all(d["event"] == "acknowledgement" for d in attempts)


async def test_an_endpoint_gets_only_the_events_it_subscribes_to(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    await _webhook(client, tenant, "https://crm.example.com/a", "result")
    inactive = await _webhook(client, tenant, "https://crm.example.com/b", "acknowledgement")
    response = await client.patch(
        f"/api/v1/webhooks/{inactive}", headers=tenant.headers, json={"active": False}
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={"kind": "complaint", "channel": "phone", "title": "t", "description": "d"},
    )
    assert response.status_code == 201, response.text
    found = await ns.notifications(app_engine, tenant.id)
    assert [n.channel for n in found] == ["email"]  # the customer's (skipped); no webhook


async def test_webhook_settings_are_checked_and_the_secret_is_never_shown(
    client: Client, tenant: TenantHandle
) -> None:
    for body, field in (
        ({"url": "ftp://x.example.com", "secret": SECRET, "events": ["result"]}, "url"),
        ({"url": "https://x.example.com", "secret": "short", "events": ["result"]}, "secret"),
        ({"url": "https://x.example.com", "secret": SECRET, "events": []}, "events"),
        ({"url": "https://x.example.com", "secret": SECRET, "events": ["nope"]}, "events[0]"),
    ):
        response = await client.post("/api/v1/webhooks/", headers=tenant.headers, json=body)
        assert response.status_code == 422, response.text
        assert fields_of(response.json()["error"]) == [field]
    webhook_id = await _webhook(client, tenant, "https://x.example.com/h", "result")
    response = await client.patch(
        f"/api/v1/webhooks/{webhook_id}", headers=tenant.headers, json={"secret": "n" * 20}
    )
    assert response.status_code == 200, response.text
    listed = await client.get("/api/v1/webhooks/", headers=tenant.headers)
    assert SECRET not in listed.text
    assert "secret" not in listed.text
    audit = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"entity_type": "webhook"}
    )
    assert audit.status_code == 200, audit.text
    assert SECRET not in audit.text
    assert "n" * 20 not in audit.text
    assert '"secret_changed":true' in audit.text.replace(" ", "")
    deleted = await client.delete(f"/api/v1/webhooks/{webhook_id}", headers=tenant.headers)
    assert deleted.status_code == 204
    missing = await client.get(f"/api/v1/webhooks/{webhook_id}", headers=tenant.headers)
    assert missing.status_code == 404
