"""HTML to PDF with WeasyPrint, Chinese included.

The page's text is set in Debian's Noto CJK fonts (package `fonts-noto-cjk`, found
through fontconfig); WeasyPrint embeds the glyphs it uses, so the file reads the same
on a machine without them. Rendering is CPU work of a few hundred milliseconds a page:
`render_pdf` runs it in a worker thread, off the event loop. `PdfTemplates` are the
documents of one package (the record sheet, the report), Jinja pages set in `BASE_CSS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import jinja2

from closeloop.errors import ServiceUnavailable

__all__ = ["BASE_CSS", "PDF_MEDIA_TYPE", "PdfTemplates", "render_pdf", "render_pdf_sync"]

PDF_MEDIA_TYPE = "application/pdf"
# A4 with room for a binder's holes; CJK fonts first for every script they cover.
BASE_CSS = """
@page { size: A4; margin: 16mm 14mm 16mm 18mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
html { font-family: "Noto Sans CJK SC", "Noto Sans CJK", "Noto Sans", sans-serif;
       font-size: 9.5pt; line-height: 1.35; color: #111; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 3mm; }
p.meta { text-align: center; color: #444; margin: 0 0 4mm; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { border: 0.6pt solid #333; padding: 1.6mm 2mm; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f0f0f0; text-align: left; font-weight: bold; }
ul { margin: 0; padding-left: 4mm; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def render_pdf_sync(html: str) -> bytes:
    """`html` (a whole document) as PDF bytes; 503 naming the library when the machine
    lacks Pango (WeasyPrint is loaded here, so the service starts without it)."""
    try:
        import weasyprint
    except (OSError, ImportError) as exc:  # Pango's shared library (or WeasyPrint) missing
        raise ServiceUnavailable(
            f"PDFs cannot be made here: WeasyPrint needs the Pango library ({exc})",
            code="pdf_unavailable",
        ) from None
    return bytes(weasyprint.HTML(string=html).write_pdf())


async def render_pdf(html: str) -> bytes:
    """`html` as PDF bytes, rendered in a worker thread."""
    return await anyio.to_thread.run_sync(render_pdf_sync, html)


class PdfTemplates:
    """The PDF documents whose Jinja pages are in the `templates` folder beside
    `module_file` (pass `__file__`); each page is given the shared style as `css`."""

    def __init__(self, module_file: str) -> None:
        self._environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(module_file).parent / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def html(self, name: str, **context: Any) -> str:
        return self._environment.get_template(name).render(css=BASE_CSS, **context)

    def pdf_sync(self, name: str, **context: Any) -> bytes:
        """The page `name` as PDF bytes (CPU work: off the event loop)."""
        return render_pdf_sync(self.html(name, **context))

    async def pdf(self, name: str, **context: Any) -> bytes:
        """The page `name` as PDF bytes, rendered in a worker thread."""
        return await render_pdf(self.html(name, **context))
