"""/api/v1/templates: a tenant's own wording replaces the built-in one; a template that
fails to compile or names an unknown variable is refused at save time with the line."""

from __future__ import annotations

import notify_support as ns
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.notify.events import EVENTS
from support import Client, TenantHandle, fields_of

INTAKE = {
    "kind": "complaint",
    "channel": "email",
    "title": "Kettle leaks",
    "description": "From the base.",
    "customer": {"nickname": "Sam", "email": "sam@example.net", "locale": "en"},
}


async def test_a_broken_template_is_refused_naming_the_problem_and_the_line(
    client: Client, tenant: TenantHandle
) -> None:
    base = {
        "event": "result",
        "channel": "email",
        "locale": "en",
        "subject": "Case {{ case_number }}",
    }
    cases = (
        ("Hello\n\n{% if message %}\nno end", "body", 3, "endif"),
        ("Hello\n{{ message }}\n{{ refund_amount }}", "body", 3, "refund_amount"),
        ("Hello {{ message | nosuchfilter }}", "body", 1, "nosuchfilter"),
    )
    for body, part, line, words in cases:
        response = await client.post(
            "/api/v1/templates/", headers=tenant.headers, json={**base, "body": body}
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "template_invalid"
        assert fields_of(error) == [part]
        assert error["details"]["line"] == line, error
        assert words in error["message"]
        assert f"line {line}" in error["message"]
    response = await client.post(
        "/api/v1/templates/",
        headers=tenant.headers,
        json={**base, "subject": "{{ oops", "body": "x"},
    )
    assert response.status_code == 422
    assert fields_of(response.json()["error"]) == ["subject"]
    for field, value in (("event", "party"), ("channel", "sms"), ("locale", "fr")):
        response = await client.post(
            "/api/v1/templates/", headers=tenant.headers, json={**base, "body": "x", field: value}
        )
        assert response.status_code == 422
        assert fields_of(response.json()["error"]) == [field]
    listed = await client.get("/api/v1/templates/", headers=tenant.headers)
    assert listed.json() == []


async def test_the_tenants_template_is_used_and_deleting_it_brings_back_the_builtin(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/templates/",
        headers=tenant.headers,
        json={
            "event": "acknowledgement",
            "channel": "email",
            "locale": "en",
            "subject": "Got it: {{ case_number }}",
            "body": (
                "Dear {{ recipient_name }},\n"
                "{% if reply_by %}By {{ reply_by }}.{% else %}Soon.{% endif %}"
            ),
        },
    )
    assert response.status_code == 201, response.text
    template_id = response.json()["id"]
    again = await client.post(
        "/api/v1/templates/",
        headers=tenant.headers,
        json={k: response.json()[k] for k in ("event", "channel", "locale", "subject", "body")},
    )
    assert again.status_code == 409

    case = (await client.post("/api/v1/cases", headers=tenant.headers, json=INTAKE)).json()
    (note,) = await ns.notifications(app_engine, tenant.id)
    assert note.subject == f"Got it: {case['number']}"
    assert note.body.startswith("Dear Sam,\n")

    patched = await client.patch(
        f"/api/v1/templates/{template_id}", headers=tenant.headers, json={"body": "{{ nope }}"}
    )
    assert patched.status_code == 422
    patched = await client.patch(
        f"/api/v1/templates/{template_id}", headers=tenant.headers, json={"body": "Thanks."}
    )
    assert patched.status_code == 200
    assert patched.json()["body"] == "Thanks."

    deleted = await client.delete(f"/api/v1/templates/{template_id}", headers=tenant.headers)
    assert deleted.status_code == 204
    await client.post("/api/v1/cases", headers=tenant.headers, json=INTAKE)
    latest = (await ns.notifications(app_engine, tenant.id))[-1]
    assert latest.subject.startswith("[acme Ltd] We have received your case")


async def test_builtin_templates_cover_every_event_in_both_languages(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.get("/api/v1/templates/builtin", headers=tenant.headers)
    assert response.status_code == 200, response.text
    shipped = {(t["event"], t["locale"]) for t in response.json()}
    assert shipped == {(e, locale) for e in EVENTS for locale in ("zh-CN", "en")}
    assert {
        "acknowledgement", "progress_update", "info_request", "result", "satisfaction_survey",
        "followup_scheduled", "assignment", "sla_warning", "sla_breach", "escalation",
    } <= set(EVENTS)  # fmt: skip


async def test_only_admins_manage_templates(client: Client, tenant: TenantHandle) -> None:
    from support import PASSWORD, bearer, login

    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": "sup@acme.example.com",
            "display_name": "Sup",
            "password": PASSWORD,
            "roles": ["supervisor"],
        },
    )
    assert response.status_code == 201, response.text
    supervisor = bearer(await login(client, tenant.slug, "sup@acme.example.com"))
    assert (await client.get("/api/v1/templates/", headers=supervisor)).status_code == 403
    assert (await client.get("/api/v1/webhooks/", headers=supervisor)).status_code == 403
    assert (await client.get("/api/v1/notifications", headers=supervisor)).status_code == 200
