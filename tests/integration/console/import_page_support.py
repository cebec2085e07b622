"""What the import page's tests share: a GBK helpdesk export, signing the admin in,
uploading, the mapping form as a browser sends it, waiting for a run."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from console_support import console_sign_in, csrf_of
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.imports.fields import FIELDS
from closeloop.queue.relay import Relay
from support import Client, TenantHandle

# A helpdesk's export saved by a Chinese Excel: GBK, comma-separated. Row 3 has a
# category nobody knows, row 4 a date that does not parse; rows 2 and 5 are good.
GBK_FILE = (
    "编号,日期,渠道,类型,内容\n"
    "A-1,2026-11-03,电话,物流延误,快递延误一周才到\n"
    "A-2,2026-11-04,网站,外星人入侵,不知道是什么类别\n"
    "A-3,明天下午,电话,产品质量,日期写错了\n"
    "A-4,2026-11-05,电话,产品质量,屏幕有坏点\n"
).encode("gbk")
RUN = re.compile(r"/console/imports/runs/([0-9a-f-]{36})")


async def table_count(engine: AsyncEngine, tenant: TenantHandle, table: str) -> int:
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        return int((await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


async def admin_page(client: Client, tenant: TenantHandle) -> str:
    """Sign the tenant's admin in (English pages); the page's CSRF token."""
    await console_sign_in(client, tenant, tenant.admin_email)
    client.cookies.set("closeloop_lang", "en", path="/console")
    page = await client.get("/console/imports/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def upload_file(client: Client, csrf: str, name: str, data: bytes, mapping: str = "") -> Any:
    return await client.post(
        "/console/imports/",
        files={"file": (name, data, "text/csv")},
        data={"_csrf_token": csrf, "mapping": mapping},
        follow_redirects=False,
    )


def mapping_form(csrf: str, action: str, **extra: str) -> dict[str, str]:
    """The mapping form as the browser sends it: every field's select, ours chosen."""
    form = {f"f.{name}": "" for name in FIELDS}
    form |= {
        "_csrf_token": csrf,
        "mapping": "shipped:heimao",
        "action": action,
        "name": "helpdesk",
        "extra_form": "1",
        "f.external_id": "编号",
        "f.received_at": "日期",
        "f.description": "内容",
        "f.channel": "渠道",
        "m.channel": "电话 = phone\n网站 = web",
        "u.channel": "report",
        "d.channel": "",
        "f.category": "类型",
        "m.category": "物流延误 = logistics_delay\n产品质量 = product_quality",
        "u.category": "report",
        "d.category": "",
    }
    return form | extra


async def finished_run(client: Client, run_id: str, engine: AsyncEngine, broker: Any) -> str:
    """The run's page once the worker has finished it."""
    for _ in range(300):
        await Relay(engine, broker).drain()
        page = await client.get(f"/console/imports/runs/{run_id}")
        assert page.status_code == 200, page.text
        if "hx-trigger" not in page.text.split('id="import-run"', 1)[1].split(">", 1)[0]:
            return page.text
        await asyncio.sleep(0.1)
    raise AssertionError("the run did not finish")
