"""The one typed settings object, read once from the environment and an optional `.env`.

Nothing else in Closeloop reads `os.environ`. A missing or malformed setting stops
start-up with a one-line message that names it (`SettingsError`).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

__all__ = ["MAX_WORKERS", "Settings", "SettingsError", "load_settings"]

MAX_WORKERS = 256  # app processes of `closeloop serve`

_LOG_FORMATS = ("console", "json")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_BROKER_SCHEMES = ("amqp", "amqps", "redis", "rediss")
_DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it on one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything Closeloop can be told from outside.

    `database_url` is the application's connection: a role that owns nothing and
    cannot bypass row-level security. `database_owner_url` runs migrations. Both
    absent means the embedded PostgreSQL under `data_dir`.
    """

    database_url: str | None
    database_owner_url: str | None
    broker_url: str | None
    data_dir: Path
    secret_key: str
    operator_token: str | None
    master_key: str | None
    smtp_url: str | None
    log_format: str
    log_level: str
    host: str
    port: int
    jwt_ttl_seconds: int
    login_max_failures: int
    login_failure_window_seconds: int
    max_body_bytes: int
    db_pool_size: int
    db_pool_timeout_ms: int = 5000
    attachment_max_bytes: int = 10 * 1024 * 1024
    public_intake_per_minute: int = 10
    queue_prefix: str = ""
    retry_min_backoff_ms: int = 15_000
    retry_max_backoff_ms: int = 3_600_000
    worker_threads: int = 4
    public_url: str = "http://127.0.0.1:8000"
    survey_ttl_days: int = 14
    import_upload_days: int = 7
    plugin_time_budget_ms: int = 2000
    plugin_failure_threshold: int = 5
    workers: int = 1
    console_idle_seconds: int = 1800
    console_session_seconds: int = 43_200
    # The shared complaint data the demo reads its case texts from (read in place).
    shared_data: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"{path.name} line {number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def _int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or None
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.hostname or "host=" in parts.query):
        raise SettingsError(
            f"{name} must be a URL starting with one of {', '.join(s + '://' for s in schemes)}"
            " and naming a host"
        )
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build settings from `environ` (default: the process environment) over `.env`."""
    env: dict[str, str] = {}
    env.update(_read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(os.environ if environ is None else environ)

    database_url = _url(env, "DATABASE_URL", _DATABASE_SCHEMES)
    database_owner_url = _url(env, "DATABASE_OWNER_URL", _DATABASE_SCHEMES)
    if database_owner_url and not database_url:
        raise SettingsError(
            "DATABASE_OWNER_URL is set but DATABASE_URL is not; set both or neither"
        )

    log_format = (env.get("LOG_FORMAT") or "console").lower()
    if log_format not in _LOG_FORMATS:
        raise SettingsError(
            f"LOG_FORMAT must be one of {', '.join(_LOG_FORMATS)}, got {log_format!r}"
        )
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {log_level!r}")

    secret_key = env.get("CLOSELOOP_SECRET_KEY", "")
    if not secret_key:
        if database_url is not None:
            raise SettingsError(
                "CLOSELOOP_SECRET_KEY is required when DATABASE_URL is set (at least 32 characters)"
            )
        # The embedded default is a single machine: a per-process key is enough,
        # sessions simply end when the demo restarts.
        secret_key = secrets.token_urlsafe(48)
    if len(secret_key) < 32:
        raise SettingsError("CLOSELOOP_SECRET_KEY must be at least 32 characters")

    operator_token = env.get("CLOSELOOP_OPERATOR_TOKEN") or None
    if operator_token is not None and len(operator_token) < 24:
        raise SettingsError("CLOSELOOP_OPERATOR_TOKEN must be at least 24 characters")

    master_key = env.get("CLOSELOOP_MASTER_KEY") or None
    if master_key is not None:
        try:
            raw = base64.urlsafe_b64decode(master_key + "=" * (-len(master_key) % 4))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise SettingsError("CLOSELOOP_MASTER_KEY must be 32 bytes in URL-safe base64")
    elif database_url is not None:
        raise SettingsError(
            "CLOSELOOP_MASTER_KEY is required when DATABASE_URL is set (32 bytes, URL-safe base64)"
        )

    min_backoff = _int(env, "CLOSELOOP_RETRY_MIN_BACKOFF_MS", 15_000)
    max_backoff = _int(env, "CLOSELOOP_RETRY_MAX_BACKOFF_MS", 3_600_000, maximum=7 * 86_400_000)
    if max_backoff < min_backoff:
        raise SettingsError(
            "CLOSELOOP_RETRY_MAX_BACKOFF_MS must not be less than CLOSELOOP_RETRY_MIN_BACKOFF_MS"
        )

    data_dir_raw = env.get("CLOSELOOP_DATA_DIR") or platformdirs.user_data_dir("closeloop")
    return Settings(
        database_url=database_url,
        database_owner_url=database_owner_url,
        broker_url=_url(env, "BROKER_URL", _BROKER_SCHEMES),
        data_dir=Path(data_dir_raw).expanduser(),
        secret_key=secret_key,
        operator_token=operator_token,
        master_key=master_key,
        smtp_url=_url(env, "SMTP_URL", ("smtp", "smtps")),
        log_format=log_format,
        log_level=log_level,
        host=env.get("CLOSELOOP_HOST") or "127.0.0.1",
        port=_int(env, "CLOSELOOP_PORT", 8000, maximum=65535),
        jwt_ttl_seconds=_int(env, "CLOSELOOP_JWT_TTL_SECONDS", 900),
        login_max_failures=_int(env, "CLOSELOOP_LOGIN_MAX_FAILURES", 10),
        login_failure_window_seconds=_int(env, "CLOSELOOP_LOGIN_FAILURE_WINDOW_SECONDS", 60),
        max_body_bytes=_int(env, "CLOSELOOP_MAX_BODY_BYTES", 1_048_576),
        db_pool_size=_int(env, "CLOSELOOP_DB_POOL_SIZE", 10),
        db_pool_timeout_ms=_int(env, "CLOSELOOP_DB_POOL_TIMEOUT_MS", 5000, maximum=300_000),
        attachment_max_bytes=_int(env, "CLOSELOOP_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        public_intake_per_minute=_int(env, "CLOSELOOP_PUBLIC_INTAKE_PER_MINUTE", 10),
        queue_prefix=_queue_prefix(env),
        retry_min_backoff_ms=min_backoff,
        retry_max_backoff_ms=max_backoff,
        worker_threads=_int(env, "CLOSELOOP_WORKER_THREADS", 4, maximum=256),
        public_url=_public_url(env),
        survey_ttl_days=_int(env, "CLOSELOOP_SURVEY_TTL_DAYS", 14, maximum=365),
        import_upload_days=_int(env, "CLOSELOOP_IMPORT_UPLOAD_DAYS", 7, maximum=365),
        plugin_time_budget_ms=_int(
            env, "CLOSELOOP_PLUGIN_TIME_BUDGET_MS", 2000, minimum=10, maximum=60_000
        ),
        plugin_failure_threshold=_int(env, "CLOSELOOP_PLUGIN_FAILURE_THRESHOLD", 5, maximum=1000),
        workers=_int(env, "CLOSELOOP_WORKERS", 1, maximum=MAX_WORKERS),
        console_idle_seconds=_int(env, "CLOSELOOP_CONSOLE_IDLE_SECONDS", 1800, minimum=60),
        console_session_seconds=_int(
            env, "CLOSELOOP_CONSOLE_SESSION_SECONDS", 43_200, minimum=60, maximum=30 * 86_400
        ),
        shared_data=Path(env["CLOSELOOP_SHARED_DATA"])
        if env.get("CLOSELOOP_SHARED_DATA")
        else None,
    )


def _public_url(env: Mapping[str, str]) -> str:
    """Where customers reach the public pages (survey links in e-mails start with it)."""
    raw = env.get("CLOSELOOP_PUBLIC_URL") or "http://127.0.0.1:8000"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise SettingsError(
            "CLOSELOOP_PUBLIC_URL must be an http:// or https:// URL naming a host, without a query"
        )
    return raw.rstrip("/")


def _queue_prefix(env: Mapping[str, str]) -> str:
    prefix = env.get("CLOSELOOP_QUEUE_PREFIX") or ""
    if prefix and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,39}", prefix):
        raise SettingsError(
            "CLOSELOOP_QUEUE_PREFIX may hold letters, digits, '.', '_' and '-' (40 at most), "
            "starting with a letter"
        )
    return prefix
