"""Import: reading spreadsheets and CSV files and mapping their rows to cases.

This package is the engine, with no database and no HTTP: `reading` opens a file and
yields its rows; `values` parses cells. docs/imports.md describes it.
"""

from __future__ import annotations

from closeloop.imports.reading import ReadError, SourceRow, Table, open_table

__all__ = ["ReadError", "SourceRow", "Table", "open_table"]
