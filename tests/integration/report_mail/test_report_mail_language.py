"""A report e-mail speaks its schedule's language, not the tenant's: on a Chinese tenant
an English schedule's e-mail (received by a real SMTP server started here) names the
metrics, the dimensions and the rows (channels, categories, kinds) in English in its
text, its HTML and its attached workbook, while the tenant's Chinese schedule, sent in
the same sweep, names them in Chinese."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from email.message import EmailMessage
from typing import Any

import dramatiq
import openpyxl
from report_mail_support import (
    XLSX,
    counted,
    delivered,
    new_case,
    next_weekly,
    parts_of,
    sweep,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import utcnow
from integration.notify import notify_support as ns
from support import Client, TenantHandle, category_ids

CJK = re.compile(r"[\u4e00-\u9fff]")
# The tenant's default names (closeloop.config.defaults), written out here.
NAMES = {
    "en": {
        "channel:phone": "Phone",
        "channel:web": "Web form",
        "category:logistics_delay": "Logistics delay",
        "category:product_quality": "Product quality",
        "kind:complaint": "Complaint",
    },
    "zh-CN": {
        "channel:phone": "电话",
        "channel:web": "网站表单",
        "category:logistics_delay": "物流延误",
        "category:product_quality": "产品质量",
        "kind:complaint": "投诉",
    },
}


def _row_labels(book: openpyxl.Workbook) -> dict[str, str]:
    """Every breakdown row of the workbook's metric sheets: key → its label."""
    labels: dict[str, str] = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        header = next((row for row in rows if row and row[1] in ("指标代码", "Metric code")), None)
        if header is None or not ({"Item", "项目"} & set(header)):
            continue  # the overview and the trend have no breakdown rows
        key = header.index("Key" if "Key" in header else "键")
        item = header.index("Item" if "Item" in header else "项目")
        for row in rows[rows.index(header) + 1 :]:
            if row[key] and ":" in str(row[key]) and row[item] is not None:
                labels[str(row[key])] = str(row[item])
    return labels


def _message(mail: ns.Mailbox, language: str) -> EmailMessage:
    (message,) = [m for _, m in mail.messages if m["Content-Language"] == language]
    return message


async def test_a_report_email_names_everything_in_its_schedules_language(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    broker: dramatiq.Broker,
    mail: ns.Mailbox,
) -> None:
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")  # the tenant's; its language is zh-CN
    categories = await category_ids(client, tenant)
    cases = [
        ("phone", "logistics_delay"),
        ("phone", "logistics_delay"),
        ("web", "product_quality"),
    ]
    for number, (channel, category) in enumerate(cases, start=1):
        await new_case(client, tenant, channel, number, category_id=categories[category])

    monday = next_weekly(utcnow(), zone)
    week = (monday.date() - dt.timedelta(days=7), monday.date() - dt.timedelta(days=1))

    await counted(client, app_engine, broker, tenant, week, len(cases))
    for locale in ("en", "zh-CN"):
        response = await client.post(
            "/api/v1/report-schedules",
            headers=tenant.headers,
            json={"frequency": "weekly", "locale": locale, "recipients": [str(tenant.admin_id)]},
        )
        assert response.status_code == 201, response.text
    assert len(await sweep(app_engine, tenant.id, monday)) == 2

    await delivered(app_engine, broker, mail, 2)
    books: dict[str, Any] = {}
    for locale in ("en", "zh-CN"):
        parts = parts_of(_message(mail, locale))
        (attachment,) = parts[XLSX]
        books[locale] = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
        labels = _row_labels(books[locale])
        for key, name in NAMES[locale].items():
            assert labels.get(key) == name, (locale, key, labels.get(key))
        text = parts["text/plain"][0].get_content()
        html = parts["text/html"][0].get_content()
        volume = "Cases received" if locale == "en" else "投诉总量"
        assert f"{volume}: {len(cases)}" in text
        assert volume in html

    # The English e-mail has no Chinese name of anything: its rows, sheets, figures.
    english = parts_of(_message(mail, "en"))
    assert not CJK.search(english["text/html"][0].get_content().split("<body", 1)[1])
    assert books["en"].sheetnames[0] == "Overview"
    chinese_labels = {k: v for k, v in _row_labels(books["en"]).items() if CJK.search(v)}
    assert chinese_labels == {}
