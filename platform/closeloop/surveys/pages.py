"""What the customer reads: the survey's texts in zh-CN and en, and the HTML page.

The page is plain server-rendered HTML (Jinja2, autoescaped): the scale as radio
buttons, a reason box and a submit button posting the form back to the same URL; no
JavaScript.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, Template

__all__ = ["TEXTS", "render_page", "text"]

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "满意度评价",
        "question": "您对{tenant}就反馈 {number}「{title}」的处理结果满意吗？",
        "reason": "如不满意，请告诉我们原因（选择不满意时必填）：",
        "submit": "提交评价",
        "thanks": "感谢您的评价！",
        "thanks_unsatisfied": "感谢您的反馈。我们会尽快重新处理您的问题，并与您联系。",
        "already_answered": "您已经评价过了，感谢您的反馈！",
        "expired": "此评价链接已过期或已失效。",
        "not_found": "找不到此页面。请检查链接是否完整。",
        "not_awaiting": "这条反馈目前不需要评价。",
        "rate_limited": "请求过于频繁，请稍后再试。",
        "invalid": "请选择一个评价；选择不满意时请填写原因。",
    },
    "en": {
        "title": "How did we do?",
        "question": 'Are you satisfied with how {tenant} handled your case {number} "{title}"?',
        "reason": "If you are not satisfied, please tell us why (required then):",
        "submit": "Send",
        "thanks": "Thank you for your answer!",
        "thanks_unsatisfied": (
            "Thank you for telling us. We will take your case up again and contact you soon."
        ),
        "already_answered": "You have already answered this survey. Thank you!",
        "expired": "This survey link has expired or is no longer valid.",
        "not_found": "This page does not exist. Please check that the link is complete.",
        "not_awaiting": "This case is not waiting for your answer at the moment.",
        "rate_limited": "Too many requests; please try again in a minute.",
        "invalid": "Please choose an answer; if you are not satisfied, tell us why.",
    },
}

_PAGE = """\
<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ heading }}{% if tenant %} · {{ tenant }}{% endif %}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.6; color: #222; }
fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; }
label.choice { display: block; padding: .25rem 0; }
textarea { width: 100%; box-sizing: border-box; }
button { margin-top: 1rem; padding: .5rem 1.5rem; font-size: 1rem; }
.message { padding: .75rem 1rem; background: #f3f6fa; border-radius: 6px; }
</style>
</head>
<body>
<h1>{{ heading }}</h1>
{% if tenant %}<p>{{ tenant }}</p>{% endif %}
{% if message %}<p class="message">{{ message }}</p>{% endif %}
{% if form %}
<form method="post" action="">
<fieldset>
<legend>{{ question }}</legend>
{% for item in scale %}
<label class="choice"><input type="radio" name="answer" value="{{ item.code }}"
{%- if item.code == chosen %} checked{% endif %} required> {{ item.label }}</label>
{% endfor %}
</fieldset>
<label for="reason">{{ reason_label }}</label>
<textarea id="reason" name="reason" rows="4" maxlength="4000">{{ reason or "" }}</textarea>
<button type="submit">{{ submit }}</button>
</form>
{% endif %}
</body>
</html>
"""


@functools.cache
def _template() -> Template:
    return Environment(autoescape=True, keep_trailing_newline=True).from_string(_PAGE)


def text(locale: str, key: str, **values: Any) -> str:
    texts = TEXTS.get(locale) or TEXTS["zh-CN"]
    return texts[key].format(**values) if values else texts[key]


def render_page(
    locale: str,
    *,
    tenant: str | None = None,
    message: str | None = None,
    question: str | None = None,
    scale: Sequence[Mapping[str, Any]] = (),
    chosen: str | None = None,
    reason: str | None = None,
) -> str:
    """The survey page: with the form when `question` is given, else only `message`."""
    return _template().render(
        lang=locale,
        heading=text(locale, "title"),
        tenant=tenant,
        message=message,
        form=question is not None,
        question=question,
        scale=scale,
        chosen=chosen,
        reason=reason,
        reason_label=text(locale, "reason"),
        submit=text(locale, "submit"),
    )
