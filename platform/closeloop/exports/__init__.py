"""Files made from the app's data: tables streamed as CSV or XLSX (`writers`), pages
rendered as PDF (`pdf`). Case lists and reports share them."""

from closeloop.exports.writers import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    csv_cell,
    stream_csv,
    stream_xlsx,
)

__all__ = ["CSV_MEDIA_TYPE", "XLSX_MEDIA_TYPE", "csv_cell", "stream_csv", "stream_xlsx"]
