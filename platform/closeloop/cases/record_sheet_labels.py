"""The record sheet's words in the tenant's language (zh-CN or en): the practice's form
fields (file 000 of the practice, "客户投诉处理与回访记录表"), and the codes it shows."""

from __future__ import annotations

__all__ = ["FIELDS", "STATUSES", "VALUES", "word"]

# The practice's fields, in its order; `*` marks what the practice holds private.
FIELDS: dict[str, tuple[str, str]] = {
    "title": ("客户投诉处理与回访记录表", "Complaint handling and follow-up record"),
    "number": ("投诉编号", "Complaint number"),
    "received": ("投诉日期", "Complaint date"),
    "channel": ("投诉渠道", "Channel"),
    "customer_name": ("客户姓名*", "Customer name*"),
    "contact": ("联系方式*", "Contact*"),
    "category": ("投诉类型", "Complaint type"),
    "severity": ("紧急程度", "Urgency"),
    "product": ("涉及产品/服务", "Product or service"),
    "details": ("投诉内容详情", "Complaint details"),
    "verification": ("核实情况", "Verification"),
    "department": ("责任部门", "Responsible department"),
    "handler": ("处理人*", "Handler*"),
    "plan": ("制定方案", "Plan"),
    "time_limit": ("处理时限", "Time limit"),
    "process": ("处理过程记录", "Handling record"),
    "result": ("处理结果", "Result"),
    "first_feedback": ("首次客户反馈", "First customer feedback"),
    "followup": ("回访情况", "Follow-up"),
    "followup_date": ("回访日期", "Follow-up date"),
    "followup_by": ("回访人*", "Followed up by*"),
    "followup_result": ("回访结果", "Follow-up result"),
    "customer_remarks": ("客户补充意见", "Customer's further remarks"),
    "remarks": ("备注", "Remarks"),
    "recorded_by": ("记录人*", "Recorded by*"),
    "reviewed_by": ("审核人*", "Reviewed by*"),
    "archived": ("归档日期", "Archived on"),
    # parts of the fields above
    "nickname": ("昵称", "Nickname"),
    "problem_at": ("发生时间", "When"),
    "problem_place": ("发生地点", "Where"),
    "demands": ("客户诉求", "Demands"),
    "model": ("型号", "Model"),
    "batch": ("批次", "Batch"),
    "order_number": ("订单号", "Order number"),
    "purchase_date": ("购买日期", "Purchase date"),
    "collaborating": ("协办部门", "Collaborating"),
    "root_cause": ("原因", "Root cause"),
    "responsible_party": ("责任方", "Responsible party"),
    "solution_type": ("解决方案", "Solution"),
    "third_party": ("第三方", "Third party"),
    "reason": ("原因", "Reason"),
    "escalation": ("升级级别", "Escalation level"),
    "repeat": ("重复投诉", "Repeat complaint"),
    "merged_into": ("已合并至", "Merged into"),
    "status": ("当前状态", "Status"),
    "printed": ("打印时间", "Printed"),
    "masked": ("隐私信息已遮盖", "Private data masked"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "registered": ("已登记", "Registered"),
    "verified": ("已核实", "Verified"),
    "waiting_customer": ("等待客户", "Waiting on the customer"),
    "assigned": ("已分派", "Assigned"),
    "in_progress": ("处理中", "In progress"),
    "resolved": ("已解决", "Resolved"),
    "feedback_received": ("已反馈", "Feedback received"),
    "followup_scheduled": ("待回访", "Follow-up scheduled"),
    "reopened": ("重新处理", "Reopened"),
    "closed": ("已关闭", "Closed"),
    "closed_invalid": ("无效关闭", "Closed as invalid"),
    "merged": ("已合并", "Merged"),
    "archived": ("已归档", "Archived"),
}

VALUES: dict[str, tuple[str, str]] = {
    # responsible parties (DESIGN §1.5)
    "internal": ("内部", "Internal"),
    "customer": ("客户误解", "Customer misunderstanding"),
    "third_party": ("第三方", "Third party"),
    # follow-up outcomes (§1.7)
    "resolved_satisfied": ("已解决满意", "Resolved, satisfied"),
    "partially_resolved": ("基本满意(部分解决)", "Partially resolved"),
    "unresolved": ("未解决", "Unresolved"),
    # demands
    "refund": ("退款", "Refund"),
    "exchange": ("换货", "Exchange"),
    "repair": ("维修", "Repair"),
    "apology": ("道歉", "Apology"),
    "compensation": ("赔偿", "Compensation"),
    "service_improvement": ("改进服务", "Service improvement"),
    "other": ("其他", "Other"),
    # timeline events shown in the handling record
    "verify": ("核实", "Verified"),
    "invalidate": ("判定无效", "Invalidated"),
    "request_info": ("请客户补充信息", "Asked the customer"),
    "resume": ("恢复处理", "Resumed"),
    "assign": ("分派", "Assigned"),
    "start": ("开始处理", "Started"),
    "progress": ("处理进展", "Progress"),
    "resolve": ("解决", "Resolved"),
    "feedback": ("客户反馈", "Feedback"),
    "schedule_followup": ("安排回访", "Follow-up scheduled"),
    "followup": ("回访", "Followed up"),
    "reopen": ("重新打开", "Reopened"),
    "archive": ("归档", "Archived"),
    "annotate": ("批注", "Note"),
    "merge": ("合并", "Merged"),
    "escalate": ("升级", "Escalated"),
    "edited": ("修改", "Edited"),
    "yes": ("是", "Yes"),
}


def word(table: dict[str, tuple[str, str]], key: str, locale: str) -> str:
    """`key`'s word in `locale` (English for `en*`, else Chinese); the key itself when
    the table has none."""
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if locale.lower().startswith("en") else pair[0]
