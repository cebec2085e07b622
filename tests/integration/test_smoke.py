from support import TenantHandle


async def test_admin_lists_users(client, tenant: TenantHandle) -> None:
    response = await client.get("/api/v1/users/", headers=tenant.headers)
    assert response.status_code == 200
    assert [u["email"] for u in response.json()] == [tenant.admin_email]
