"""The weekly report e-mail arrives at a real SMTP server (aiosmtpd) started here: the key
figures in its text and HTML, the three charts inline as PNG (`cid:` links that resolve),
and the XLSX workbook attached, whose figures (read with openpyxl) are the API's summary
of the same week. Each sending is a notification record like any other."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from typing import Any

import dramatiq
import openpyxl
import pytest
from report_mail_support import (
    XLSX,
    counted,
    delivered,
    new_case,
    next_weekly,
    parts_of,
    summary_of,
    sweep,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import utcnow
from integration.notify import notify_support as ns
from support import Client, TenantHandle, make_staff

CHANNELS = ("phone", "web", "web", "email")


def _overview(book: openpyxl.Workbook) -> dict[str, dict[str, Any]]:
    rows = list(book["概览"].iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if row and row[1] == "指标代码")
    header = rows[at]
    return {str(row[1]): dict(zip(header, row, strict=True)) for row in rows[at + 1 :]}


async def test_the_weekly_report_arrives_with_its_workbook_and_charts(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    broker: dramatiq.Broker,
    mail: ns.Mailbox,
) -> None:
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")  # the tenant's
    viewer_id, viewer_email = await make_staff(client, tenant, "viewer")
    for number, channel in enumerate(CHANNELS, start=1):
        await new_case(client, tenant, channel, number)

    monday = next_weekly(utcnow(), zone)
    week = (monday.date() - dt.timedelta(days=7), monday.date() - dt.timedelta(days=1))

    await counted(client, app_engine, broker, tenant, week, len(CHANNELS))
    response = await client.post(
        "/api/v1/report-schedules",
        headers=tenant.headers,
        json={"frequency": "weekly", "recipients": [str(tenant.admin_id), str(viewer_id)]},
    )
    assert response.status_code == 201, response.text

    assert await sweep(app_engine, tenant.id, monday - dt.timedelta(minutes=1)) == []
    subjects = await sweep(app_engine, tenant.id, monday)
    assert len(subjects) == 2
    assert await sweep(app_engine, tenant.id, monday + dt.timedelta(minutes=1)) == []

    await delivered(app_engine, broker, mail, 2)
    expected = await summary_of(client, tenant, week)
    by_recipient = {rcpt[0]: message for rcpt, message in mail.messages}
    assert set(by_recipient) == {tenant.admin_email, viewer_email}

    for message in by_recipient.values():
        assert message["Subject"] == f"【acme Ltd】周报 {week[0]} 至 {week[1]}"
        assert message["Content-Language"] == "zh-CN"
        parts = parts_of(message)
        text = parts["text/plain"][0].get_content()
        assert f"投诉总量: {len(CHANNELS)}" in text
        html = parts["text/html"][0].get_content()
        assert "投诉总量" in html
        # Every chart is inline and its cid: link in the HTML resolves.
        images = parts["image/png"]
        assert len(images) == 3
        for image in images:
            assert image.get_content().startswith(b"\x89PNG")
            assert image.get_content_disposition() == "inline"
            cid = str(image["Content-ID"]).strip("<>")
            assert f"cid:{cid}" in html
        assert len(re.findall(r'src="cid:', html)) == 3
        # The workbook is attached and its figures are the API's.
        (attachment,) = parts[XLSX]
        assert attachment.get_content_disposition() == "attachment"
        year, number, _ = week[0].isocalendar()
        assert attachment.get_filename() == f"acme-report-{year}-W{number:02d}.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
        overview = _overview(book)
        compared = 0
        for name, metric in expected["metrics"].items():
            if metric.get("value") is None:
                assert overview[name]["数值"] is None
                continue
            assert overview[name]["数值"] == pytest.approx(metric["value"]), name
            compared += 1
        assert compared >= 3
        channels = {
            row[4]: row[7]
            for row in book["投诉总量"].iter_rows(values_only=True)
            if row and isinstance(row[4], str) and row[4].startswith("channel:")
        }
        assert channels == {"channel:phone": 1, "channel:web": 2, "channel:email": 1}

    records = await client.get(
        "/api/v1/notifications", headers=tenant.headers, params={"event": "scheduled_report"}
    )
    assert records.status_code == 200, records.text
    statuses = sorted(item["status"] for item in records.json()["items"])
    assert statuses == ["sent", "sent"]
