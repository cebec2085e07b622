"""A case list filter naming another tenant's department, handler or category id is 404,
as every other tenant's id is (not an empty list that says the id exists but has no
case): the API's list and count, the export (before its stream starts) and the
console's queues; an id nobody has gives the same answer."""

from __future__ import annotations

import uuid

import pytest
from case_support import config_id, create_case, make_user

from integration.console.console_support import console_sign_in
from support import Client, TenantHandle


async def _foreign_ids(client: Client, other: TenantHandle) -> dict[str, str]:
    handler_id, _ = await make_user(client, other, "handler")
    return {
        "department": await config_id(client, other, "departments", "logistics"),
        "assignee": str(handler_id),
        "category": await config_id(client, other, "categories", "logistics_delay"),
    }


@pytest.mark.parametrize("name", ["department", "assignee", "category"])
async def test_another_tenants_filter_id_is_404_everywhere(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, name: str
) -> None:
    await create_case(client, tenant.headers)
    foreign = (await _foreign_ids(client, other_tenant))[name]
    for value in (foreign, str(uuid.uuid4())):
        for path, extra in (
            ("/api/v1/cases", {}),
            ("/api/v1/cases", {"count": "true"}),
            ("/api/v1/cases/export", {"format": "csv"}),
        ):
            response = await client.get(path, headers=tenant.headers, params={name: value, **extra})
            assert response.status_code == 404, (path, extra, response.text)
            assert value in response.json()["error"]["message"], response.text
    # The tenant's own ids still filter as before.
    own = await config_id(client, tenant, "departments", "logistics")
    listed = await client.get("/api/v1/cases", headers=tenant.headers, params={"department": own})
    assert listed.status_code == 200, listed.text
    # The console's queue with the same filter: the 404 page.
    await console_sign_in(client, tenant, tenant.admin_email)
    page = await client.get("/console/queues/all", params={name: foreign})
    assert page.status_code == 404, page.text[:300]
    assert "text/html" in page.headers["content-type"]
