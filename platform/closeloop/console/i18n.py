"""The console's languages: gettext catalogs (Babel) for zh-CN and en, and which one a
request gets.

The `.po` files under `locale/` are the committed sources; each process compiles them
in memory the first time a language is used, so there is no build step. A request's
language is the one its user picked (the `closeloop_lang` cookie), else the tenant's
locale once signed in, else the browser's `Accept-Language`, else zh-CN.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context

from closeloop.tenancy.service import LOCALES

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "LANGUAGE_COOKIE",
    "LOCALES",
    "LOCALE_DIR",
    "N_",
    "babel_formats",
    "babel_locale",
    "choose_locale",
    "gettext",
    "ngettext",
    "template_gettext",
    "template_ngettext",
    "translations",
]

DOMAIN = "console"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LOCALE = "zh-CN"
LANGUAGE_COOKIE = "closeloop_lang"


def N_(message: str) -> str:
    """Mark `message` for the catalogs without translating it here."""
    return message


def babel_locale(locale: str) -> str:
    """`zh-CN` as Babel and the catalog folders spell it: `zh_CN`."""
    return locale.replace("-", "_")


@functools.cache
def babel_formats(locale: str) -> Locale:
    """Babel's locale data for formatting dates and spans in `locale`, parsed once per
    process (a page formats hundreds of moments; parsing the name each time showed)."""
    return Locale.parse(babel_locale(locale))


@functools.cache
def translations(locale: str) -> Translations:
    """The catalog of `locale` (one of LOCALES), compiled from its `.po` once per process."""
    if locale not in LOCALES:
        raise LookupError(f"no console catalog for {locale!r}; languages are {LOCALES}")
    source = LOCALE_DIR / babel_locale(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as po:
        catalog = read_po(po, locale=babel_locale(locale), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(locale: str, message: str, **variables: Any) -> str:
    text = translations(locale).gettext(message)
    return text % variables if variables else text


def ngettext(locale: str, singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(locale).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


# Templates: installed with `install_gettext_callables(..., newstyle=True)`. Jinja passes
# the template context, whose `locale` names the request's language.
@pass_context
def template_gettext(context: Context, message: str) -> str:
    return translations(context.get("locale") or DEFAULT_LOCALE).gettext(message)


@pass_context
def template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("locale") or DEFAULT_LOCALE).ngettext(singular, plural, n)


def _accepted(header: str) -> list[str]:
    """Languages of an `Accept-Language` header, most wanted first."""
    weighted = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _match(tag: str) -> str | None:
    lowered = tag.lower()
    for locale in LOCALES:
        if lowered == locale.lower():
            return locale
    language = lowered.split("-")[0]
    for locale in LOCALES:
        if locale.lower().split("-")[0] == language:
            return locale
    return None


def choose_locale(
    *, cookie: str | None, tenant_locale: str | None, accept_language: str | None
) -> str:
    """The request's language: the user's pick, the tenant's, the browser's, zh-CN."""
    for picked in (cookie, tenant_locale):
        if picked is not None and picked in LOCALES:
            return picked
    for tag in _accepted(accept_language or ""):
        found = _match(tag)
        if found is not None:
            return found
    return DEFAULT_LOCALE
