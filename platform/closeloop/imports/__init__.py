"""Import: reading spreadsheets and CSV files and mapping their rows to cases.

This package is the engine, with no database and no HTTP: `reading` opens a file and
yields its rows, `mapping` reads and checks a mapping file, `engine` turns rows into
`ImportedCase` records or per-cell errors, `template` makes the practice's record form
as an XLSX workbook. The writer that stores cases, the API, the command and the console
page build on it. docs/imports.md describes the mapping format.
"""

from __future__ import annotations

from closeloop.imports.engine import Mapper, MapTally, infer_status
from closeloop.imports.known import Known, KnownItem
from closeloop.imports.mapping import (
    SHIPPED,
    FieldSpec,
    Mapping,
    MappingError,
    MappingProblem,
    load_mapping,
    parse_mapping,
    shipped_mapping,
)
from closeloop.imports.reading import ReadError, SourceRow, Table, open_table
from closeloop.imports.records import (
    CellError,
    Creation,
    ImportedCase,
    Person,
    RowErrors,
    error_report_csv,
)

__all__ = [
    "SHIPPED",
    "CellError",
    "Creation",
    "FieldSpec",
    "ImportedCase",
    "Known",
    "KnownItem",
    "MapTally",
    "Mapper",
    "Mapping",
    "MappingError",
    "MappingProblem",
    "Person",
    "ReadError",
    "RowErrors",
    "SourceRow",
    "Table",
    "error_report_csv",
    "infer_status",
    "load_mapping",
    "open_table",
    "parse_mapping",
    "shipped_mapping",
]
