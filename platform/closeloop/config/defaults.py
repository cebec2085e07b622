"""What a new tenant starts with: the practice's severities, categories, departments,
channels, demand types, satisfaction scale and follow-up script (DESIGN §1; source
practice 004).

`seed_defaults()` runs when a tenant is created. It fills only what is empty (a kind
of item with no rows, a missing profile), so it can run again on an older tenant
without touching anything the tenant's admins changed.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config.models import (
    Category,
    Channel,
    DemandType,
    Department,
    Severity,
    TenantProfile,
)
from closeloop.db import bound_tenant, new_id, tenant_scope

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_CHANNELS",
    "DEFAULT_DEMAND_TYPES",
    "DEFAULT_DEPARTMENTS",
    "DEFAULT_PROFILE",
    "DEFAULT_SEVERITIES",
    "default_profile",
    "seed_defaults",
]

# (code, name_zh, name_en, rank): a higher rank is more severe.
DEFAULT_SEVERITIES: tuple[tuple[str, str, str, int], ...] = (
    ("normal", "普通", "Normal", 1),
    ("urgent", "紧急", "Urgent", 2),
    ("critical", "特急", "Critical", 3),
)

# (code, name_zh, name_en): the top of the category tree; tenants add children.
DEFAULT_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("product_quality", "产品质量", "Product quality"),
    ("service_attitude", "服务态度", "Service attitude"),
    ("logistics_delay", "物流延误", "Logistics delay"),
    ("system_failure", "系统故障", "System failure"),
    ("billing_dispute", "计费争议", "Billing dispute"),
    ("information_security", "信息安全", "Information security"),
    ("after_sales_response", "售后响应", "After-sales response"),
    ("process_efficiency", "流程效率", "Process efficiency"),
    ("other", "其他", "Other"),
)

# (code, name_zh, name_en): the departments cases are assigned to; no managers (a
# tenant's admins name them; the demo gives each one).
DEFAULT_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("customer_service", "客服部", "Customer service"),
    ("after_sales", "售后部", "After-sales"),
    ("product", "产品部", "Product"),
    ("logistics", "物流部", "Logistics"),
    ("technical", "技术部", "Technical"),
)

DEFAULT_CHANNELS: tuple[tuple[str, str, str], ...] = (
    ("phone", "电话", "Phone"),
    ("web", "网站表单", "Web form"),
    ("app", "手机应用", "Mobile app"),
    ("email", "电子邮件", "E-mail"),
    ("chat", "在线客服", "Live chat"),
    ("social", "社交媒体", "Social media"),
    ("store", "门店", "Store visit"),
    ("app_store", "应用商店评价", "App store review"),
    ("letter", "信函", "Letter"),
    ("api", "接口", "API"),
)

DEFAULT_DEMAND_TYPES: tuple[tuple[str, str, str], ...] = (
    ("refund", "退款", "Refund"),
    ("exchange", "换货", "Exchange"),
    ("repair", "维修", "Repair"),
    ("apology", "道歉", "Apology"),
    ("compensation", "赔偿", "Compensation"),
    ("service_improvement", "改进服务", "Service improvement"),
    ("other", "其他", "Other"),
)

DEFAULT_PROFILE: dict[str, Any] = {
    "number_patterns": {
        "default": "{yyyy}{mm}{seq:04}",
        "complaint": "CT-{yyyy}-{seq:05}",
        "service_request": "SR-{yyyy}-{seq:05}",
    },
    "satisfaction_scale": [
        {"code": "satisfied", "name_zh": "满意", "name_en": "Satisfied", "satisfied": True},
        {
            "code": "basically_satisfied",
            "name_zh": "基本满意",
            "name_en": "Basically satisfied",
            "satisfied": True,
        },
        {"code": "unsatisfied", "name_zh": "不满意", "name_en": "Unsatisfied", "satisfied": False},
    ],
    # The follow-up call of the practice: introduce, thank, confirm, explain, ask, next, close.
    "followup_script": [
        {
            "step": "introduce",
            "text_zh": "您好,我是客服中心的回访专员,今天就您之前反映的问题给您做一次回访。",
            "text_en": "Hello, this is the customer service follow-up team, calling about "
            "the issue you reported to us.",
        },
        {
            "step": "thank",
            "text_zh": "感谢您抽出时间与我们沟通,也感谢您对我们的关注和支持。",
            "text_en": "Thank you for taking the time to talk with us, and for your "
            "interest in and support of our company.",
        },
        {
            "step": "confirm_problem",
            "text_zh": "和您确认一下:您之前反映的问题是……,我们的理解是否准确?",
            "text_en": "Let me confirm: the problem you reported was ... Have we "
            "understood it correctly?",
        },
        {
            "step": "explain_solution",
            "text_zh": "针对您的问题,我们已经采取(或将要采取)以下措施:……",
            "text_en": "For your issue we have taken (or will take) the following steps: ...",
        },
        {
            "step": "ask_satisfaction",
            "text_zh": "请问您对这次的处理结果满意吗?满意、基本满意还是不满意?"
            "如不满意,请告诉我们您的具体需求和期望。",
            "text_en": "Are you satisfied with how this was resolved: satisfied, basically "
            "satisfied or unsatisfied? If not, please tell us what you need and expect.",
        },
        {
            "step": "next_steps",
            "text_zh": "满意:说明公司为防止类似问题再次发生将采取的后续措施;"
            "不满意:告知客户将与相关部门进一步沟通,寻求更好的解决方案。",
            "text_en": "If satisfied: explain what the company will do to keep it from "
            "happening again. If not: tell the customer we will work with the departments "
            "concerned on a better solution.",
        },
        {
            "step": "close",
            "text_zh": "再次感谢您的时间和反馈。如有任何其他问题或建议,随时可以与我们联系。",
            "text_en": "Thank you again for your time and feedback. If you have any other "
            "question or suggestion, you can contact us at any time.",
        },
    ],
    "followup_window_days": [3, 5],
    "repeat_window_days": 30,
    "pii_mode": "normal",
}


def default_profile(tenant_id: uuid.UUID) -> TenantProfile:
    values = copy.deepcopy(DEFAULT_PROFILE)
    return TenantProfile(tenant_id=tenant_id, id=tenant_id, **values)


async def _is_empty(session: AsyncSession, model: type[Any]) -> bool:
    return not await session.scalar(select(func.count()).select_from(model))


def _listed(items: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    """(code, name_zh, name_en) items as rows' values, in their order."""
    return [
        {"code": code, "name_zh": zh, "name_en": en, "position": index}
        for index, (code, zh, en) in enumerate(items, start=1)
    ]


async def seed_defaults(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give `tenant_id` the defaults for every kind of item it has none of."""
    if bound_tenant(session) != tenant_id:
        await tenant_scope(session, tenant_id)
    severities = [
        {"code": code, "name_zh": zh, "name_en": en, "rank": rank, "position": rank}
        for code, zh, en, rank in DEFAULT_SEVERITIES
    ]
    rows: list[Any] = []
    for model, values in (
        (Severity, severities),
        (Category, _listed(DEFAULT_CATEGORIES)),
        (Department, _listed(DEFAULT_DEPARTMENTS)),
        (Channel, _listed(DEFAULT_CHANNELS)),
        (DemandType, _listed(DEFAULT_DEMAND_TYPES)),
    ):
        if await _is_empty(session, model):
            rows += [model(tenant_id=tenant_id, id=new_id(), active=True, **v) for v in values]
    if await session.scalar(select(TenantProfile.id)) is None:
        rows.append(default_profile(tenant_id))
    session.add_all(rows)
    await session.flush()
    # Imported here: sla imports tenancy, whose service imports this module.
    from closeloop.sla.calendar_service import seed_default_calendar
    from closeloop.sla.policies import seed_default_policies

    await seed_default_calendar(session, tenant_id)
    await seed_default_policies(session, tenant_id)
