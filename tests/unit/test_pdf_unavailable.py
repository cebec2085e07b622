"""Without WeasyPrint's system library the service still starts; a PDF asked for is a
503 naming what is missing, not a 500."""

from __future__ import annotations

import sys

import pytest

from closeloop.errors import ServiceUnavailable
from closeloop.exports.pdf import render_pdf_sync


def test_a_pdf_without_weasyprint_is_a_503_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # `None` in sys.modules makes `import weasyprint` fail, as a missing Pango does.
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(ServiceUnavailable) as refused:
        render_pdf_sync("<html><body>投诉处理记录表</body></html>")
    assert refused.value.status_code == 503
    assert refused.value.code == "pdf_unavailable"
    assert "Pango" in refused.value.message


def test_a_pdf_is_made_when_the_library_is_there() -> None:
    pdf = render_pdf_sync("<html><body>投诉处理记录表</body></html>")
    assert pdf.startswith(b"%PDF-")
