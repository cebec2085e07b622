"""Every console message is translated in the zh-CN and en catalogs."""

from __future__ import annotations

import re

import pytest

from closeloop.console.catalogs import extract, read_catalog
from closeloop.console.i18n import LOCALES, choose_locale, gettext, translations

EXTRACTED = {str(message.id) for message in extract() if message.id}


def test_extraction_finds_the_templates_and_the_code() -> None:
    assert "Sign in to the staff console" in EXTRACTED  # a template
    assert "Wrong organisation code, e-mail or password." in EXTRACTED  # N_() in Python
    assert "Page not found" in EXTRACTED  # errors.py


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    catalog = read_catalog(locale)
    known = {str(m.id): m for m in catalog if m.id}
    missing = sorted(EXTRACTED - set(known))
    assert not missing, (
        f"not in the {locale} catalog: {missing}; run `python -m closeloop.console.catalogs`"
    )
    untranslated = sorted(i for i in EXTRACTED if not known[i].string or known[i].fuzzy)
    assert not untranslated, f"untranslated in {locale}: {untranslated}"
    unused = sorted(set(known) - EXTRACTED)
    assert not unused, f"{locale} catalog keeps messages no longer used: {unused}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale: str) -> None:
    for message in read_catalog(locale):
        if message.id:
            wanted = sorted(re.findall(r"%\(\w+\)s", str(message.id)))
            assert sorted(re.findall(r"%\(\w+\)s", str(message.string))) == wanted, message.id


def test_the_catalogs_compile_and_translate() -> None:
    assert translations("zh-CN").gettext("Sign in") == "登录"
    assert gettext("zh-CN", "Reference: %(id)s", id="r1") == "参考编号：r1"
    assert gettext("en", "Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("cookie", "tenant", "header", "expected"),
    [
        ("en", "zh-CN", "zh-CN", "en"),  # the user's pick wins
        (None, "en", "zh-CN", "en"),  # then the tenant's locale
        ("fr", None, "en-US,en;q=0.9", "en"),  # an unknown pick is ignored
        (None, None, "de-DE, en;q=0.5, zh;q=0.8", "zh-CN"),  # the best-weighted match
        (None, None, "zh-TW", "zh-CN"),
        (None, None, None, "zh-CN"),  # the default
        (None, None, "en;q=0, *", "zh-CN"),
    ],
)
def test_the_language_of_a_request(
    cookie: str | None, tenant: str | None, header: str | None, expected: str
) -> None:
    assert choose_locale(cookie=cookie, tenant_locale=tenant, accept_language=header) == expected
