"""Notification templates, webhook signatures and SMTP_URL parsing (no database)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from closeloop.mail import smtp_target
from closeloop.notify import events
from closeloop.notify.delivery import sign
from closeloop.notify.templates import BUILTIN, TemplateProblem, check, render_pair


def test_every_event_has_builtin_templates_in_both_languages_that_pass_the_check() -> None:
    for event in events.EVENTS:
        for locale in events.LOCALES:
            subject, body = BUILTIN[(event, locale)]
            check(event, subject, body)


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("Hi\n{{ message }\n", 2, "unexpected"),
        ("Hi\n\n{{ coupon_code }}", 3, "unknown variable 'coupon_code'"),
        ("{{ message | shout }}", 1, "No filter named 'shout'"),
        ("{% for x in message %}{{ x }}", 1, "endfor"),
    ],
)
def test_a_broken_template_names_the_line(body: str, line: int, words: str) -> None:
    with pytest.raises(TemplateProblem) as problem:
        check(events.RESULT, "Case {{ case_number }}", body)
    assert problem.value.part == "body"
    assert problem.value.line == line
    assert words in str(problem.value)


def test_the_sandbox_refuses_unsafe_attributes_at_save_time() -> None:
    with pytest.raises(TemplateProblem) as problem:
        check(events.RESULT, "x", "{{ message.__class__.__mro__[1].__subclasses__() }}")
    assert "unsafe" in str(problem.value) or "access" in str(problem.value)


def test_a_subject_is_one_line_and_rendering_fills_the_variables() -> None:
    with pytest.raises(TemplateProblem):
        check(events.RESULT, "one\ntwo", "body")
    subject, body = render_pair(
        "Case  {{ case_number }}\n", "{{ message }}", {"case_number": "C-1", "message": "done"}
    )
    assert (subject, body) == ("Case C-1", "done")


def test_locales_are_matched_loosely() -> None:
    assert events.locale_of("en-US") == "en"
    assert events.locale_of("zh_Hans") == "zh-CN"
    assert events.locale_of(None) == "zh-CN"
    assert events.locale_of("fr", default="en") == "en"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event":"result"}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1700000000." + body, hashlib.sha256)
    assert sign("s3cret-s3cret-s3cret", "1700000000", body) == "sha256=" + expected.hexdigest()


def test_smtp_url_gives_host_port_tls_credentials_and_sender() -> None:
    plain = smtp_target("smtp://mail.example.com")
    assert (plain.hostname, plain.port, plain.use_tls, plain.username) == (
        "mail.example.com",
        25,
        False,
        None,
    )
    assert plain.sender == "closeloop@mail.example.com"
    secure = smtp_target("smtps://svc%40x:p%3Ass@mail.example.com?from=help@example.com")
    assert (secure.port, secure.use_tls) == (465, True)
    assert (secure.username, secure.password) == ("svc@x", "p:ss")
    assert secure.sender == "help@example.com"
