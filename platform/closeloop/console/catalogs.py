"""Keeping the console's message catalogs in step with its code and templates.

    python -m closeloop.console.catalogs

extracts every message marked in the console's Python (`_`, `gettext`, `N_`) and
templates (`{{ _("...") }}`, `{% trans %}`), adds new ones to `locale/*/console.po`
(untranslated), drops the ones no longer used, and prints what still needs a
translation. Translate in the `.po` files; the app compiles them when it starts.
tests/unit/test_console_catalogs.py fails while a message is missing or untranslated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from closeloop.console.i18n import DOMAIN, LOCALE_DIR, LOCALES, babel_locale

__all__ = ["CONSOLE_DIR", "catalog_path", "extract", "main", "read_catalog"]

CONSOLE_DIR = Path(__file__).resolve().parent
METHODS = [
    ("*.py", "python"),
    ("templates/**.html", "jinja2.ext:babel_extract"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def extract() -> Catalog:
    """Every message the console's code and templates mark for translation."""
    catalog = Catalog(domain=DOMAIN, project="Closeloop console")
    for filename, lineno, message, comments, context in extract_from_dir(
        CONSOLE_DIR, METHODS, OPTIONS, KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / babel_locale(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as po:
        return read_po(po, locale=babel_locale(locale), domain=DOMAIN)


def _untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(str(message.id))
    return missing


def main() -> int:
    template = extract()
    for locale in LOCALES:
        path = catalog_path(locale)
        if path.exists():
            catalog = read_catalog(locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=babel_locale(locale), domain=DOMAIN)
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        # A stable header, so that a run without new messages changes nothing.
        catalog.creation_date = created
        catalog.revision_date = created
        catalog.project, catalog.version = "Closeloop", "console"
        catalog.copyright_holder = "the Closeloop authors"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = catalog.language_team = "Closeloop"
        catalog.header_comment = f"# The Closeloop staff console in {locale}."
        catalog.fuzzy = False
        with path.open("wb") as po:
            write_po(po, catalog, width=100, omit_header=False, include_lineno=False)
        missing = _untranslated(catalog)
        print(
            f"{path.relative_to(CONSOLE_DIR)}: {len(catalog)} messages, {len(missing)} to translate"
        )
        for message_id in missing:
            print(f"  {message_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
