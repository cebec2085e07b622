"""`GET /api/v1/cases?count=true`: how many cases the filters match, exact up to a cap."""

from __future__ import annotations

from case_support import create_case
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.listing import COUNT_CAP, CaseFilters, count_cases
from closeloop.db import sessionmaker, transaction
from support import Client, TenantHandle


async def test_count_is_the_number_of_matching_cases_on_every_page(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for _ in range(3):
        await create_case(client, tenant.headers, kind="complaint")
    await create_case(client, tenant.headers, kind="inquiry")
    await create_case(client, other_tenant.headers, kind="complaint")

    first = await client.get(
        "/api/v1/cases", headers=tenant.headers, params={"count": "true", "limit": 2}
    )
    assert first.status_code == 200, first.text
    assert (first.json()["total"], first.json()["total_capped"]) == (4, False)
    assert len(first.json()["items"]) == 2
    rest = await client.get(
        "/api/v1/cases",
        headers=tenant.headers,
        params={"count": "true", "cursor": first.json()["next_cursor"]},
    )
    assert rest.json()["total"] == 4  # all that match, not what is left after the cursor
    complaints = await client.get(
        "/api/v1/cases", headers=tenant.headers, params={"count": "true", "kind": "complaint"}
    )
    assert complaints.json()["total"] == 3
    nothing = await client.get(
        "/api/v1/cases", headers=tenant.headers, params={"count": "true", "q": "不存在的词"}
    )
    assert (nothing.json()["items"], nothing.json()["total"]) == ([], 0)


async def test_without_count_the_page_is_as_before(client: Client, tenant: TenantHandle) -> None:
    await create_case(client, tenant.headers)

    plain = await client.get("/api/v1/cases", headers=tenant.headers)

    assert plain.status_code == 200, plain.text
    assert set(plain.json()) == {"items", "next_cursor"}


async def test_past_the_cap_the_count_stops_and_says_so(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    assert COUNT_CAP == 10_000  # the cap docs/cases-lifecycle.md states
    for _ in range(3):
        await create_case(client, tenant.headers)

    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        capped = await count_cases(session, CaseFilters(), cap=2)
        exact = await count_cases(session, CaseFilters(), cap=3)

    assert capped == (2, True)
    assert exact == (3, False)
