"""Settings: one typed object from the environment over an optional `.env`; a missing or
malformed value stops start-up with one line that names the setting."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from closeloop.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 40
MASTER_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
APP_URL = "postgresql://closeloop_app@db.internal:5432/closeloop"
OWNER_URL = "postgresql://closeloop_owner@db.internal:5432/closeloop"


@pytest.fixture
def no_dotenv(tmp_path: Path) -> Path:
    """A `.env` path that does not exist, so the developer's own `.env` never leaks in."""
    return tmp_path / "absent.env"


def test_defaults_run_embedded_on_localhost(no_dotenv: Path) -> None:
    settings = load_settings({}, dotenv=no_dotenv)
    assert settings.embedded
    assert settings.database_url is None
    assert settings.broker_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.log_format, settings.log_level) == ("console", "INFO")
    assert len(settings.secret_key) >= 32  # generated per process for the embedded demo
    assert settings.operator_token is None
    assert settings.import_upload_days == 7


def test_a_full_production_environment_is_read(no_dotenv: Path, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": APP_URL,
            "DATABASE_OWNER_URL": OWNER_URL,
            "BROKER_URL": "amqp://guest@mq.internal:5672/",
            "CLOSELOOP_SECRET_KEY": SECRET,
            "CLOSELOOP_OPERATOR_TOKEN": "o" * 30,
            "CLOSELOOP_MASTER_KEY": MASTER_KEY,
            "CLOSELOOP_DATA_DIR": str(tmp_path / "data"),
            "SMTP_URL": "smtp://mail.internal:25",
            "LOG_FORMAT": "JSON",
            "LOG_LEVEL": "warning",
            "CLOSELOOP_HOST": "0.0.0.0",
            "CLOSELOOP_PORT": "9000",
            "CLOSELOOP_JWT_TTL_SECONDS": "600",
            "CLOSELOOP_LOGIN_MAX_FAILURES": "5",
            "CLOSELOOP_LOGIN_FAILURE_WINDOW_SECONDS": "120",
            "CLOSELOOP_MAX_BODY_BYTES": "2048",
            "CLOSELOOP_DB_POOL_SIZE": "3",
        },
        dotenv=no_dotenv,
    )
    assert not settings.embedded
    assert settings.database_url == APP_URL
    assert settings.database_owner_url == OWNER_URL
    assert settings.broker_url == "amqp://guest@mq.internal:5672/"
    assert settings.secret_key == SECRET
    assert settings.master_key == MASTER_KEY
    assert settings.data_dir == tmp_path / "data"
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.jwt_ttl_seconds == 600
    assert (settings.login_max_failures, settings.login_failure_window_seconds) == (5, 120)
    assert (settings.max_body_bytes, settings.db_pool_size) == (2048, 3)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        pytest.param(
            {"DATABASE_URL": "mysql://db.internal/closeloop"}, "DATABASE_URL", id="bad-scheme"
        ),
        pytest.param({"DATABASE_URL": "postgresql:///closeloop"}, "DATABASE_URL", id="no-host"),
        pytest.param(
            {"DATABASE_URL": APP_URL, "DATABASE_OWNER_URL": "sqlite:///x"},
            "DATABASE_OWNER_URL",
            id="bad-owner-scheme",
        ),
        pytest.param(
            {"DATABASE_OWNER_URL": OWNER_URL}, "DATABASE_OWNER_URL", id="owner-without-app"
        ),
        pytest.param({"BROKER_URL": "kafka://mq.internal"}, "BROKER_URL", id="bad-broker"),
        pytest.param({"SMTP_URL": "http://mail.internal"}, "SMTP_URL", id="bad-smtp"),
        pytest.param({"LOG_FORMAT": "xml"}, "LOG_FORMAT", id="log-format-xml"),
        pytest.param({"LOG_LEVEL": "verbose"}, "LOG_LEVEL", id="log-level"),
        pytest.param({"CLOSELOOP_PORT": "eighty"}, "CLOSELOOP_PORT", id="port-not-a-number"),
        pytest.param({"CLOSELOOP_PORT": "0"}, "CLOSELOOP_PORT", id="port-zero"),
        pytest.param({"CLOSELOOP_PORT": "70000"}, "CLOSELOOP_PORT", id="port-too-big"),
        pytest.param({"CLOSELOOP_JWT_TTL_SECONDS": "1.5"}, "CLOSELOOP_JWT_TTL_SECONDS", id="ttl"),
        pytest.param({"CLOSELOOP_DB_POOL_SIZE": "-1"}, "CLOSELOOP_DB_POOL_SIZE", id="pool"),
        pytest.param(
            {"CLOSELOOP_DB_POOL_TIMEOUT_MS": "0"}, "CLOSELOOP_DB_POOL_TIMEOUT_MS", id="pool-wait"
        ),
        pytest.param(
            {"CLOSELOOP_SECRET_KEY": "too-short"}, "CLOSELOOP_SECRET_KEY", id="short-secret"
        ),
        pytest.param(
            {"DATABASE_URL": APP_URL, "CLOSELOOP_MASTER_KEY": MASTER_KEY},
            "CLOSELOOP_SECRET_KEY",
            id="secret-missing",
        ),
        pytest.param(
            {"DATABASE_URL": APP_URL, "CLOSELOOP_SECRET_KEY": SECRET},
            "CLOSELOOP_MASTER_KEY",
            id="master-key-missing",
        ),
        pytest.param(
            {"CLOSELOOP_MASTER_KEY": "not-32-bytes"}, "CLOSELOOP_MASTER_KEY", id="master-key"
        ),
        pytest.param(
            {"CLOSELOOP_OPERATOR_TOKEN": "short"}, "CLOSELOOP_OPERATOR_TOKEN", id="operator"
        ),
        pytest.param(
            {"CLOSELOOP_IMPORT_UPLOAD_DAYS": "0"}, "CLOSELOOP_IMPORT_UPLOAD_DAYS", id="upload-days"
        ),
    ],
)
def test_malformed_setting_is_named_on_one_line(
    environ: dict[str, str], named: str, no_dotenv: Path
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, dotenv=no_dotenv)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_empty_values_mean_the_default(no_dotenv: Path) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "",
            "LOG_FORMAT": "",
            "LOG_LEVEL": "",
            "CLOSELOOP_PORT": "",
            "CLOSELOOP_HOST": "",
        },
        dotenv=no_dotenv,
    )
    assert settings.embedded
    assert (settings.log_format, settings.log_level, settings.host, settings.port) == (
        "console",
        "INFO",
        "127.0.0.1",
        8000,
    )


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# local settings\n"
        "\n"
        f"DATABASE_URL={APP_URL}\n"
        f"export CLOSELOOP_SECRET_KEY='{SECRET}'\n"
        f"CLOSELOOP_MASTER_KEY={MASTER_KEY}\n"
        'LOG_FORMAT="json"\n'
        "CLOSELOOP_PORT=9001\n",
        encoding="utf-8",
    )
    settings = load_settings({"CLOSELOOP_PORT": "9002"}, dotenv=dotenv)
    assert settings.database_url == APP_URL
    assert settings.secret_key == SECRET
    assert settings.log_format == "json"
    assert settings.port == 9002


def test_dotenv_line_without_equals_names_the_file_and_line(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_FORMAT=json\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\.env line 2"):
        load_settings({}, dotenv=dotenv)


def test_dotenv_value_is_validated_like_the_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_FORMAT=xml\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings({}, dotenv=dotenv)


def _closeloop_command() -> Path:
    return Path(sys.executable).parent / "closeloop"


def test_serve_with_a_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_OWNER_URL")}
    env["LOG_FORMAT"] = "xml"
    result = subprocess.run(
        [str(_closeloop_command()), "serve", "--port", "1"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "LOG_FORMAT" in lines[0]
    assert "Traceback" not in result.stderr


# Every name settings.py reads: `env.get("X")`, `_int(env, "X", ...)`, `_url(env, "X", ...)`.
_READ = re.compile(r'(?:env\.get\(|_int\(env, |_url\(env, )"([A-Z][A-Z0-9_]+)"')


def _settings_read() -> set[str]:
    source = (ROOT / "platform" / "closeloop" / "settings.py").read_text(encoding="utf-8")
    return set(_READ.findall(source))


def test_settings_scan_finds_the_known_names() -> None:
    assert {
        "DATABASE_URL",
        "DATABASE_OWNER_URL",
        "LOG_FORMAT",
        "CLOSELOOP_SECRET_KEY",
    } <= _settings_read()


@pytest.mark.parametrize("document", ["docs/settings.md", "deploy/closeloop.env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(name for name in _settings_read() if not re.search(rf"\b{name}\b", text))
    assert not missing, f"{document} does not mention {', '.join(missing)}"


def test_db_upgrade_without_an_owner_url_names_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CLOSELOOP_"))}
    env |= {
        "DATABASE_URL": APP_URL,
        "CLOSELOOP_SECRET_KEY": SECRET,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
    }
    result = subprocess.run(
        [str(_closeloop_command()), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "DATABASE_OWNER_URL" in line


def test_the_production_example_is_valid_once_the_secrets_are_filled_in() -> None:
    example = ROOT / "deploy" / "closeloop.env.example"
    settings = load_settings(
        {"CLOSELOOP_SECRET_KEY": SECRET, "CLOSELOOP_MASTER_KEY": MASTER_KEY}, dotenv=example
    )
    assert not settings.embedded
    assert settings.database_owner_url is None  # the web processes do not hold the owner
    assert settings.log_format == "json"
    with pytest.raises(SettingsError, match="CLOSELOOP_SECRET_KEY"):
        load_settings({}, dotenv=example)
