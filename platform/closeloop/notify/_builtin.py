"""The built-in templates: zh-CN and en for every event, used on every channel unless
the tenant saved its own for that event, channel and locale (`/api/v1/templates`).

Each entry is `(subject, body)`; both are Jinja2 rendered in the sandbox with the
variables of `closeloop.notify.events`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BUILTIN"]

BUILTIN: Final[dict[tuple[str, str], tuple[str, str]]] = {
    # -- customer-facing ---------------------------------------------------------------
    ("acknowledgement", "zh-CN"): (
        "【{{ tenant_name }}】已受理您的反馈 {{ case_number }}",
        "您好{% if recipient_name %} {{ recipient_name }}{% endif %}：\n\n"
        "我们已收到您的反馈「{{ case_title }}」，受理编号 {{ case_number }}。\n"
        "紧急程度：{{ severity or '普通' }}。\n"
        "{% if reply_by %}我们将在 {{ reply_by }} 前答复您。"
        "{% else %}我们会尽快答复您。{% endif %}\n\n"
        "{{ tenant_name }}",
    ),
    ("acknowledgement", "en"): (
        "[{{ tenant_name }}] We have received your case {{ case_number }}",
        "Hello{% if recipient_name %} {{ recipient_name }}{% endif %},\n\n"
        'We have received your request "{{ case_title }}" as case {{ case_number }}.\n'
        "Severity: {{ severity or 'normal' }}.\n"
        "{% if reply_by %}We will reply by {{ reply_by }}."
        "{% else %}We will reply soon.{% endif %}\n\n"
        "{{ tenant_name }}",
    ),
    ("progress_update", "zh-CN"): (
        "【{{ tenant_name }}】{{ case_number }} 处理进展",
        "您好：\n\n您的反馈 {{ case_number }}「{{ case_title }}」有新进展：\n"
        "{{ message }}\n\n{{ tenant_name }}",
    ),
    ("progress_update", "en"): (
        "[{{ tenant_name }}] Progress on case {{ case_number }}",
        'Hello,\n\nThere is news on your case {{ case_number }} "{{ case_title }}":\n'
        "{{ message }}\n\n{{ tenant_name }}",
    ),
    ("info_request", "zh-CN"): (
        "【{{ tenant_name }}】{{ case_number }} 需要您补充信息",
        "您好：\n\n为处理您的反馈 {{ case_number }}「{{ case_title }}」，请补充以下信息：\n"
        "{{ message }}\n\n{{ tenant_name }}",
    ),
    ("info_request", "en"): (
        "[{{ tenant_name }}] We need more information on case {{ case_number }}",
        'Hello,\n\nTo handle your case {{ case_number }} "{{ case_title }}", '
        "please send us:\n{{ message }}\n\n{{ tenant_name }}",
    ),
    ("result", "zh-CN"): (
        "【{{ tenant_name }}】{{ case_number }} 处理结果",
        "您好：\n\n您的反馈 {{ case_number }}「{{ case_title }}」已处理完毕。\n"
        "{% if solution %}解决方案：{{ solution }}\n{% endif %}{{ message }}\n\n"
        "{{ tenant_name }}",
    ),
    ("result", "en"): (
        "[{{ tenant_name }}] Your case {{ case_number }} is resolved",
        'Hello,\n\nYour case {{ case_number }} "{{ case_title }}" is resolved.\n'
        "{% if solution %}Solution: {{ solution }}\n{% endif %}{{ message }}\n\n"
        "{{ tenant_name }}",
    ),
    ("satisfaction_survey", "zh-CN"): (
        "【{{ tenant_name }}】请评价 {{ case_number }} 的处理",
        "您好：\n\n您对反馈 {{ case_number }} 的处理满意吗？请点击链接评价：\n"
        "{{ survey_url }}\n\n{{ tenant_name }}",
    ),
    ("satisfaction_survey", "en"): (
        "[{{ tenant_name }}] How did we handle case {{ case_number }}?",
        "Hello,\n\nWere you satisfied with how we handled case {{ case_number }}? "
        "Tell us here:\n{{ survey_url }}\n\n{{ tenant_name }}",
    ),
    ("followup_scheduled", "zh-CN"): (
        "【{{ tenant_name }}】{{ case_number }} 回访安排",
        "您好：\n\n我们将于 {{ followup_at }} 就反馈 {{ case_number }} 对您进行回访。\n\n"
        "{{ tenant_name }}",
    ),
    ("followup_scheduled", "en"): (
        "[{{ tenant_name }}] Follow-up on case {{ case_number }}",
        "Hello,\n\nWe will follow up on case {{ case_number }} on {{ followup_at }}.\n\n"
        "{{ tenant_name }}",
    ),
    # -- staff alerts ------------------------------------------------------------------
    ("assignment", "zh-CN"): (
        "新分派案件 {{ case_number }}（{{ severity }}）",
        "{{ recipient_name }}，您好：\n\n案件 {{ case_number }}「{{ case_title }}」已分派给您，"
        "紧急程度：{{ severity }}。\n{% if note %}备注：{{ note }}\n{% endif %}",
    ),
    ("assignment", "en"): (
        "Case {{ case_number }} assigned to you ({{ severity }})",
        'Hello {{ recipient_name }},\n\nCase {{ case_number }} "{{ case_title }}" is now '
        "yours. Severity: {{ severity }}.\n{% if note %}Note: {{ note }}\n{% endif %}",
    ),
    ("sla_warning", "zh-CN"): (
        "预警：{{ case_number }} 即将超时",
        "{{ recipient_name }}，您好：\n\n案件 {{ case_number }}「{{ case_title }}」的"
        "{{ target }}时限已用去 {{ percent }}%，应于 {{ due_at }} 前完成。",
    ),
    ("sla_warning", "en"): (
        "Warning: case {{ case_number }} is nearly due",
        'Hello {{ recipient_name }},\n\nCase {{ case_number }} "{{ case_title }}" has used '
        "{{ percent }}% of its {{ target }} time; it is due by {{ due_at }}.",
    ),
    ("sla_breach", "zh-CN"): (
        "超时：{{ case_number }}",
        "{{ recipient_name }}，您好：\n\n案件 {{ case_number }}「{{ case_title }}」的"
        "{{ target }}时限已于 {{ due_at }} 到期{% if overdue %}（已超 {{ overdue }}）"
        "{% endif %}。",
    ),
    ("sla_breach", "en"): (
        "Overdue: case {{ case_number }}",
        'Hello {{ recipient_name }},\n\nCase {{ case_number }} "{{ case_title }}" missed '
        "its {{ target }} time, due {{ due_at }}{% if overdue %} (overdue by "
        "{{ overdue }}){% endif %}.",
    ),
    ("escalation", "zh-CN"): (
        "升级：{{ case_number }} 已升至第 {{ level }} 级",
        "{{ recipient_name }}，您好：\n\n案件 {{ case_number }}「{{ case_title }}」"
        "已升级至第 {{ level }} 级，紧急程度：{{ severity }}。\n"
        "{% if reason %}原因：{{ reason }}{% endif %}",
    ),
    ("escalation", "en"): (
        "Escalated: case {{ case_number }} at level {{ level }}",
        'Hello {{ recipient_name }},\n\nCase {{ case_number }} "{{ case_title }}" is '
        "escalated to level {{ level }}. Severity: {{ severity }}.\n"
        "{% if reason %}Reason: {{ reason }}{% endif %}",
    ),
    # -- staff alerts from plugins --------------------------------------------------------
    ("plugin_disabled", "zh-CN"): (
        "插件 {{ plugin }} 已停用",
        "{{ recipient_name }}，您好：\n\n插件 {{ plugin }} 连续 {{ failures }} 次调用失败，"
        "已为 {{ tenant_name }} 自动停用。\n{% if error %}最近一次错误：{{ error }}\n{% endif %}"
        "{% if case_number %}最后一次失败发生在案件 {{ case_number }}。\n{% endif %}"
        "排查后可在插件设置中重新启用。",
    ),
    ("plugin_disabled", "en"): (
        "Plugin {{ plugin }} was switched off",
        "Hello {{ recipient_name }},\n\nThe plugin {{ plugin }} failed {{ failures }} times in "
        "a row and was switched off for {{ tenant_name }}.\n"
        "{% if error %}Last error: {{ error }}\n{% endif %}"
        "{% if case_number %}The last failure was on case {{ case_number }}.\n{% endif %}"
        "Enable it again in the plugin settings once the cause is fixed.",
    ),
    ("correlation_alert", "zh-CN"): (
        "关联预警：{{ label }}（{{ count }} 件）",
        "{{ recipient_name }}，您好：\n\n{{ window_minutes }} 分钟内已有 {{ count }} 件案件"
        "与「{{ label }}」相关（插件 {{ plugin }}），最新一件为 {{ case_number }}"
        "「{{ case_title }}」。",
    ),
    ("correlation_alert", "en"): (
        "Related cases: {{ label }} ({{ count }})",
        "Hello {{ recipient_name }},\n\n{{ count }} cases within {{ window_minutes }} minutes "
        "concern {{ label }} (plugin {{ plugin }}); the latest is {{ case_number }} "
        '"{{ case_title }}".',
    ),
    ("plugin_notice", "zh-CN"): (
        "{{ subject }}",
        "{{ message }}\n\n—— 插件 {{ plugin }}"
        "{% if case_number %}，案件 {{ case_number }}{% endif %}",
    ),
    ("plugin_notice", "en"): (
        "{{ subject }}",
        "{{ message }}\n\n-- plugin {{ plugin }}{% if case_number %}, case {{ case_number }}"
        "{% endif %}",
    ),
    ("scheduled_report", "zh-CN"): (
        "【{{ tenant_name }}】{{ report_name }} {{ period_from }} 至 {{ period_to }}",
        "您好{% if recipient_name %} {{ recipient_name }}{% endif %}：\n\n"
        "{{ report_name }}（{{ period_from }} 至 {{ period_to }}）的主要数据：\n\n"
        "{{ key_figures }}\n\n"
        "图表见正文，完整数据见附件的 Excel 工作簿。\n\n{{ tenant_name }}",
    ),
    ("scheduled_report", "en"): (
        "[{{ tenant_name }}] {{ report_name }} {{ period_from }} to {{ period_to }}",
        "Hello{% if recipient_name %} {{ recipient_name }}{% endif %},\n\n"
        "The key figures of the {{ report_name }} ({{ period_from }} to {{ period_to }}):\n\n"
        "{{ key_figures }}\n\n"
        "The charts are in the message; every figure is in the attached workbook.\n\n"
        "{{ tenant_name }}",
    ),
}
