"""Serve Closeloop for the browser tests: `python serve_console.py PORT`.

Settings come from the environment the test harness gives (the test database as the
application role); no background work runs in this process.
"""

from __future__ import annotations

import sys

import uvicorn

from closeloop.logs import configure_logging
from closeloop.settings import load_settings
from closeloop.web.app import create_app


def main() -> None:
    port = int(sys.argv[1])
    settings = load_settings()
    configure_logging(log_format="console", level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
