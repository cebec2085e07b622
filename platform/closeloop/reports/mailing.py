"""The scheduled report e-mails: which are due, what each says, and their notification
records.

`send_due_reports(session, settings=..., now=...)` runs in the tenant's transaction (the
job `send_scheduled_reports`, queued for a tenant whose schedules are due, calls it with
the time of day). It locks the tenant's active schedules (`SELECT ... FOR UPDATE`), so
two jobs of the same tenant (two schedulers, a redelivered message) run one after the
other and the second finds the period sent; it makes one `scheduled_report` e-mail
notification per recipient and moves the schedule's `last_period_from` and
`next_run_at` in the same transaction, so a period is sent once, or not at all when
the transaction fails (the job is retried, and the sweep queues it again when the
claim's lease ends).

Each recipient gets the report as they may see it (`ReportService` as that user: a
department manager sees their department); recipients with the same view share one
summary and one set of files. Everything the e-mail names is in the schedule's language
(`locale`), not the tenant's: the metrics, the dimensions and the rows (channels,
categories, departments, kinds, severities by their zh/en names).

The e-mail: the key figures in its text (the event's template, which a tenant may
reword) and in an HTML alternative, the three charts of
`closeloop.reports.charts` inline (PNG, `cid:`), the workbook of
`closeloop.reports.workbook` attached. The files are attachment objects
(`closeloop.storage`) named by the notification's payload; the delivery actor reads
them back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import html
import io
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.db import required_tenant
from closeloop.identity.models import User
from closeloop.identity.principal import Principal
from closeloop.logs import get_logger
from closeloop.notify import events
from closeloop.notify.models import Notification
from closeloop.notify.service import email_staff
from closeloop.reports import labels
from closeloop.reports.deps import provide_report_service
from closeloop.reports.labels import label
from closeloop.reports.schedule_models import ReportSchedule
from closeloop.reports.schedules import (
    DuePeriod,
    due_period,
    is_due,
    may_read_reports,
    next_run,
)
from closeloop.reports.schemas import Metric, ReportQuery, Summary
from closeloop.reports.service import ReportService
from closeloop.reports.workbook import write_summary_xlsx
from closeloop.settings import Settings
from closeloop.storage import storage_from_settings
from closeloop.tenancy.models import Tenant

__all__ = [
    "KEY_METRICS",
    "XLSX_TYPE",
    "ReportMail",
    "compose",
    "key_figures",
    "send_due_reports",
    "send_report",
]

log = get_logger(__name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The figures the e-mail shows in its text, in this order (the workbook has them all).
KEY_METRICS = (
    "volume",
    "resolved",
    "on_time_rate",
    "first_response_time",
    "resolution_time",
    "fcr_rate",
    "satisfaction",
    "followup",
    "repeat_rate",
    "reopen_rate",
    "complaint_rate",
)
CHART_ORDER = ("trend", "channels", "pareto")


def _number(value: float, unit: str, locale: str) -> str:
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "seconds":
        return f"{value / 3600:.1f} {'h' if locale == 'en' else '小时'}"
    if unit == "per_10000":
        return f"{value:.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _change(metric: Metric, locale: str) -> str:
    if metric.change is None:
        return ""
    change = float(metric.change)
    sign = "+" if change > 0 else ("±" if change == 0 else "−")
    size = abs(change)
    if metric.unit == "rate":
        points = "pp" if locale == "en" else "个百分点"
        return f"{sign}{size * 100:.1f} {points}"
    return sign + _number(size, metric.unit, locale)


def key_figures(summary: Summary, locale: str) -> list[tuple[str, str, str]]:
    """`(name, value, change against the previous period)` of the key metrics, as text;
    a figure with nothing to measure shows "—"."""
    rows = []
    for name in KEY_METRICS:
        metric = summary.metrics.get(name)
        if metric is None:
            continue
        shown = "—" if metric.value is None else _number(metric.value, metric.unit, locale)
        rows.append((label(labels.METRIC_NAMES, name, locale), shown, _change(metric, locale)))
    return rows


def _figures_text(rows: Sequence[tuple[str, str, str]], locale: str) -> str:
    before = "vs. previous period" if locale == "en" else "较上期"
    return "\n".join(
        f"{name}: {value}" + (f" ({before} {change})" if change else "")
        for name, value, change in rows
    )


@dataclasses.dataclass
class ReportMail:
    """What one view of the report sends: the template's variables, the HTML and the
    files (`name -> (filename, content type, bytes, cid or None)`)."""

    context: dict[str, Any]
    html: str
    files: list[tuple[str, str, bytes, str | None]]


def _html(
    summary: Summary,
    *,
    title: str,
    figures: Sequence[tuple[str, str, str]],
    cids: dict[str, str],
    locale: str,
) -> str:
    e = html.escape
    period = summary.period
    headers = ("Figure", "Value", "vs. previous period")
    if locale != "en":
        headers = ("指标", "数值", "较上期")
    note = (
        "Every figure, with its breakdowns, is in the attached workbook."
        if locale == "en"
        else "全部数据及明细见附件中的 Excel 工作簿。"
    )
    rows = "".join(
        f'<tr><td style="padding:4px 12px 4px 0">{e(name)}</td>'
        f'<td style="padding:4px 12px;text-align:right"><b>{e(value)}</b></td>'
        f'<td style="padding:4px 0 4px 12px;color:#555">{e(change)}</td></tr>'
        for name, value, change in figures
    )
    images = "".join(
        f'<p><img src="cid:{e(cids[name])}" alt="{e(name)}" style="max-width:100%"></p>'
        for name in CHART_ORDER
        if name in cids
    )
    return (
        f'<!DOCTYPE html><html lang="{e(locale)}"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title></head>"
        '<body style="font-family:sans-serif;color:#222">'
        f"<h2>{e(title)}</h2>"
        f"<p>{e(str(period.date_from))} – {e(str(period.date_to))} ({e(period.time_zone)})</p>"
        "<table><thead><tr>"
        + "".join(
            f'<th style="text-align:left;padding:4px 12px 4px 0">{e(h)}</th>' for h in headers
        )
        + f"</tr></thead><tbody>{rows}</tbody></table>{images}<p>{e(note)}</p></body></html>"
    )


def _file_stem(tenant: Tenant, schedule: ReportSchedule, due: DuePeriod) -> str:
    if schedule.frequency == "weekly":
        year, week, _ = due.date_from.isocalendar()
        return f"{tenant.slug}-report-{year}-W{week:02d}"
    return f"{tenant.slug}-report-{due.date_from:%Y-%m}"


async def compose(
    summary: Summary, *, tenant: Tenant, schedule: ReportSchedule, due: DuePeriod
) -> ReportMail:
    """The e-mail of `summary` for `schedule`'s language: context, HTML and files."""
    locale = schedule.locale
    title = schedule.name or label(labels.FREQUENCIES, schedule.frequency, locale)
    figures = key_figures(summary, locale)
    # matplotlib is loaded by the first report e-mail, not by every worker at start-up.
    from closeloop.reports.charts import report_charts

    charts = await asyncio.to_thread(report_charts, summary, locale=locale)
    workbook = io.BytesIO()
    await asyncio.to_thread(write_summary_xlsx, summary, workbook, locale=locale)
    unique = uuid.uuid4().hex[:12]
    cids = {name: f"{name}-{unique}@closeloop" for name in charts}
    stem = _file_stem(tenant, schedule, due)
    files: list[tuple[str, str, bytes, str | None]] = [
        (f"{name}.png", "image/png", charts[name], cids[name]) for name in CHART_ORDER
    ]
    files.append((f"{stem}.xlsx", XLSX_TYPE, workbook.getvalue(), None))
    context = {
        "report_name": title,
        "period_from": due.date_from,
        "period_to": due.date_to,
        "key_figures": _figures_text(figures, locale),
    }
    body = _html(summary, title=title, figures=figures, cids=cids, locale=locale)
    return ReportMail(context=context, html=body, files=files)


async def _stored(mail: ReportMail, tenant_id: uuid.UUID, settings: Settings) -> dict[str, Any]:
    """The notification's `mail` payload, its files written to the attachment storage."""
    storage = storage_from_settings(settings)
    inline, attached = [], []
    for filename, content_type, data, cid in mail.files:
        stored = await storage.put(tenant_id, data)
        part = {"filename": filename, "content_type": content_type, "key": stored.key}
        if cid is None:
            attached.append(part)
        else:
            inline.append({**part, "cid": cid})
    return {"html": mail.html, "inline": inline, "attachments": attached}


async def send_report(
    session: AsyncSession,
    schedule: ReportSchedule,
    due: DuePeriod,
    *,
    tenant: Tenant,
    settings: Settings,
) -> list[Notification]:
    """One `scheduled_report` e-mail per recipient of `schedule` for `due`'s period; a
    recipient who may no longer read reports gets a `skipped` record saying so."""
    users = {
        user.id: user
        for user in await session.scalars(select(User).where(User.id.in_(schedule.recipients)))
    }
    views: dict[uuid.UUID | None, list[tuple[User, ReportService]]] = {}
    made: list[Notification] = []
    email = functools.partial(
        email_staff, session, event=events.SCHEDULED_REPORT, locale=schedule.locale
    )
    for user_id in schedule.recipients:
        user = users.get(user_id)
        if user is None:
            log.warning("report recipient no longer exists", user_id=str(user_id))
            continue
        if not may_read_reports(user):
            why = "the recipient is inactive or may no longer read reports"
            made.append(await email(user=user, context={}, skipped=why))
            continue
        service = provide_report_service(session, Principal.for_user(user), settings)
        views.setdefault(await service.scope(), []).append((user, service))
    query = ReportQuery(date_from=due.date_from, date_to=due.date_to, group_by="day")
    for members in views.values():
        summary = await members[0][1].summary(query, locale=schedule.locale)
        mail = await compose(summary, tenant=tenant, schedule=schedule, due=due)
        payload = await _stored(mail, tenant.id, settings)
        for user, _ in members:
            made.append(await email(user=user, context=mail.context, mail=payload))
    return made


async def send_due_reports(
    session: AsyncSession, *, settings: Settings, now: dt.datetime
) -> list[Notification]:
    """Send every report of the bound tenant that is due at `now`; the notifications
    made (none when nothing is due)."""
    tenant_id = required_tenant(session, "send_due_reports")
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    schedules = (
        await session.scalars(
            select(ReportSchedule)
            .where(ReportSchedule.active.is_(True))
            .order_by(ReportSchedule.created_at, ReportSchedule.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    made: list[Notification] = []
    for schedule in schedules:
        due = due_period(schedule.frequency, now, zone)
        if not is_due(schedule, due):
            # Not due (sent, made since, or looked at early): when it will be.
            schedule.next_run_at = next_run(schedule, now, zone)
            continue
        sent = await send_report(session, schedule, due, tenant=tenant, settings=settings)
        schedule.last_period_from = due.date_from
        schedule.last_sent_at = now
        schedule.next_run_at = next_run(schedule, now, zone)
        made.extend(sent)
        log.info(
            "scheduled report sent",
            schedule_id=str(schedule.id),
            period_from=str(due.date_from),
            recipients=len(sent),
        )
    return made
