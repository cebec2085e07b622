"""How to get the import service: its provider, the only way to build one.

`ImportService(session, *, actor=..., settings=...)` (and `ImportUploadService`, the
console's uploads and saved mappings, the same way); `provide_import_service` is a
Litestar dependency (the app's `db_session`, `principal` and `settings`) and a plain
function an actor or the CLI may call with its own. Who may call the import routes
(admins) is declared on the routes and checked by the web layer's guard.
"""

from __future__ import annotations

from closeloop.imports.service import ImportService
from closeloop.imports.uploads import ImportUploadService
from closeloop.providers import audited_as_caller

__all__ = ["provide_import_service", "provide_import_uploads"]

provide_import_service = audited_as_caller(ImportService, "provide_import_service")
provide_import_uploads = audited_as_caller(ImportUploadService, "provide_import_uploads")
