"""The practice's record form (客户投诉处理与回访记录表) as an XLSX workbook to fill in.

One row per case on the first sheet, one column per box of the paper form in its order,
headed in Chinese; each header carries a note with the English name and what to write.
Columns with a fixed choice offer it as a drop-down (other values are still accepted:
a tenant may have its own categories). Date columns are formatted as dates, number and
contact columns as text (a phone number must not become 1.38E+10). A second sheet
explains every column in both languages. The shipped mapping `practice_form` reads it.
"""

from __future__ import annotations

import dataclasses
import io

__all__ = ["TEMPLATE_COLUMNS", "TemplateColumn", "practice_form_template"]

SHEET = "投诉处理与回访记录"
GUIDE_SHEET = "填写说明"
ROWS_PREPARED = 2000


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateColumn:
    zh: str
    en: str
    hint: str
    choices: tuple[str, ...] = ()
    format: str | None = None  # an Excel number format
    width: int = 14


_DATETIME = "yyyy/m/d h:mm"
_DATE = "yyyy/m/d"
_TEXT = "@"

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "投诉编号", "Case number", "e.g. 202310001; empty: numbered on import", (), _TEXT
    ),
    TemplateColumn("投诉日期", "Received at", "e.g. 2026/11/3 14:30", (), _DATETIME, 16),
    TemplateColumn(
        "投诉渠道",
        "Channel",
        "phone, website, live chat, e-mail, store...",
        ("电话", "官网在线", "在线客服", "电子邮件", "门店", "手机应用", "社交媒体", "信函"),
    ),
    TemplateColumn("客户姓名*", "Customer name (personal data)", "kept encrypted"),
    TemplateColumn("联系方式*", "Phone or e-mail (personal data)", "kept encrypted", (), _TEXT, 16),
    TemplateColumn(
        "投诉类型",
        "Category",
        "one of the tenant's categories",
        (
            "产品质量",
            "服务态度",
            "物流延迟",
            "售后响应",
            "系统故障",
            "计费争议",
            "信息安全",
            "流程效率",
            "其他",
        ),
    ),
    TemplateColumn("紧急程度", "Severity", "normal / urgent / critical", ("普通", "紧急", "特急")),
    TemplateColumn("涉及产品/服务", "Product or service", "name, model, batch", width=18),
    TemplateColumn(
        "投诉内容详情",
        "Complaint details",
        "time, place, what happened (required)",
        width=40,
    ),
    TemplateColumn(
        "客户诉求",
        "Customer's demands",
        "several separated by 、 or ,",
        ("退款", "换货", "维修", "道歉", "赔偿", "改进服务", "其他"),
    ),
    TemplateColumn("核实情况", "Verification", "records checked, what was confirmed", width=30),
    TemplateColumn("责任部门", "Responsible department", "department name"),
    TemplateColumn("处理人*", "Handler", "name or e-mail of the handler"),
    TemplateColumn("制定方案", "Plan / solution", "e.g. refund, replacement, repair", width=24),
    TemplateColumn("处理时限", "Deadline", "e.g. 2026/11/4 18:00", (), _DATETIME, 16),
    TemplateColumn("处理过程记录", "Handling log", "actions and customer contacts", width=36),
    TemplateColumn("处理结果", "Result", "solution and how it was carried out", width=30),
    TemplateColumn(
        "首次客户反馈",
        "First satisfaction",
        "satisfied / basically / not",
        ("满意", "基本满意", "不满意"),
    ),
    TemplateColumn("意见记录", "Customer's remarks", "why not satisfied, if so", width=24),
    TemplateColumn("回访情况", "Follow-up notes", "what the customer said", width=30),
    TemplateColumn("回访日期", "Follow-up date", "e.g. 2026/11/10", (), _DATE),
    TemplateColumn("回访人*", "Followed up by", "not the first handler"),
    TemplateColumn(
        "回访结果",
        "Follow-up outcome",
        "resolved & satisfied / partly / unresolved",
        ("已解决满意", "基本满意", "未解决"),
    ),
    TemplateColumn("客户补充意见", "Further comments", "anything else the customer said", width=24),
    TemplateColumn("备注", "Remarks", "escalation, departments involved...", width=24),
    TemplateColumn("记录人*", "Recorded by", "name or e-mail"),
    TemplateColumn("审核人*", "Reviewed by", "name or e-mail"),
    TemplateColumn("归档日期", "Archived on", "e.g. 2026/11/20", (), _DATE),
)


def practice_form_template() -> bytes:
    """The workbook's bytes (XLSX), ready to download."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for position, column in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(position)
        cell = sheet.cell(row=1, column=position, value=column.zh)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        note = f"{column.en}\n{column.hint}"
        if column.choices:
            note += "\n" + " / ".join(column.choices)
        cell.comment = Comment(note, "Closeloop", height=110, width=260)
        sheet.column_dimensions[letter].width = column.width
        cells = f"{letter}2:{letter}{ROWS_PREPARED + 1}"
        if column.format:  # the column's style: cells typed into it take the format
            sheet.column_dimensions[letter].number_format = column.format
        if column.choices:
            # A suggestion, not a rule: the tenant's own values are accepted too.
            choice = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=False,
            )
            choice.add(cells)
            sheet.add_data_validation(choice)
    sheet.freeze_panes = "B2"
    sheet.row_dimensions[1].height = 30
    _guide(book.create_sheet(GUIDE_SHEET))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _guide(sheet: object) -> None:
    from openpyxl.styles import Font

    rows: list[tuple[str, ...]] = [("列 Column", "English", "说明 Notes", "可选值 Choices")]
    rows += [(c.zh, c.en, c.hint, "、".join(c.choices)) for c in TEMPLATE_COLUMNS]
    rows += [
        (),
        (
            "带 * 的列是个人信息, 导入后加密保存。",
            "Columns marked * are personal data, stored encrypted.",
            "",
            "",
        ),
        (
            "日期可写 2026/11/3 或 2026-11-03 14:30。",
            "Dates may be written 2026/11/3 or 2026-11-03 14:30.",
            "",
            "",
        ),
    ]
    for row in rows:
        sheet.append(row)  # type: ignore[attr-defined]
    for cell in sheet[1]:  # type: ignore[index]
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (16, 30, 44, 50), strict=True):
        sheet.column_dimensions[letter].width = width  # type: ignore[attr-defined]
