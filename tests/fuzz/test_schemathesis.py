"""Schemathesis over the served OpenAPI document, with all its checks.

`closeloop serve` runs on the test database; the `schemathesis run` command fuzzes it
from outside, as a client would, in four runs:

- the tenant API with an admin API key of a throwaway tenant made for this test (one
  that holds a few cases, so that ids in paths reach real objects);
- the public and operations routes with no credentials;
- revoking API keys, alone, with a second key: the tenant run leaves it out so that it
  cannot revoke the key it runs with;
- the operator API with the operator token (last: it may suspend the tenant).

Every run must end with zero failures: no 5xx, no answer the document does not
describe, no valid request refused and no invalid one accepted. A failure prints
schemathesis' report with a `curl` that reproduces it. The figures (operations,
cases, failures) are printed at the end whatever happens. Bounded: the number of
cases per operation is `CLOSELOOP_FUZZ_EXAMPLES` (default 12) and the seed is fixed
(`CLOSELOOP_FUZZ_SEED`, default 1) so that CI repeats the same run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from closeloop.provision import Provisioned
from support import OPERATOR, OPERATOR_TOKEN, PASSWORD

pytestmark = pytest.mark.slow

MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"
START_TIMEOUT = 60.0
RUN_TIMEOUT = 900
EXAMPLES = int(os.environ.get("CLOSELOOP_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("CLOSELOOP_FUZZ_SEED", "1"))
BIN = Path(sys.executable).parent

# Valid data may still be refused by a rule the schema cannot state (an unknown
# reference, a status that does not take the action): 422, besides schemathesis' own
# list. A missing `If-Match` is 428 Precondition Required.
CHECKS = """
[generation]
# PostgreSQL cannot store NUL in text; such text answers 400 (docs/api.md, Conventions).
allow-x00 = false

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]

# An upload's bytes must be of an allowed type (its content is checked): 415 otherwise.
[[operations]]
include-operation-id = "ApiV1CasesCaseIdAttachmentsUploadAttachment"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "415", "422", "429"]
"""


@dataclasses.dataclass
class Tenant:
    slug: str
    key: str
    spare_key: str
    revocable: list[str]
    case_ids: list[str]
    public_number: str
    public_token: str


@dataclasses.dataclass
class Run:
    name: str
    code: int
    report: dict[str, Any]
    output: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database: Provisioned, tmp_path: Path) -> Iterator[str]:
    """`closeloop serve` on the test database, as the application role."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CLOSELOOP_", "BROKER_", "LOG_", "SMTP_"))
    }
    env |= {
        "DATABASE_URL": database.app_url,
        # Background work (workers, relay, scheduler) stays out of the web process,
        # which never talks to the broker: no Redis is needed.
        "BROKER_URL": "redis://127.0.0.1:6379/0",
        "CLOSELOOP_SECRET_KEY": "s" * 40,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
        "CLOSELOOP_OPERATOR_TOKEN": OPERATOR_TOKEN,
        # The public form's limit would answer most generated requests with 429.
        "CLOSELOOP_PUBLIC_INTAKE_PER_MINUTE": "100000",
        "LOG_FORMAT": "json",
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "closeloop"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,  # no .env is picked up from the repository
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/health/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"closeloop serve did not start:\n{log.read_text()[-4000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _throwaway_tenant(url: str) -> Tenant:
    """A tenant of its own, with admin API keys and a few cases."""
    slug = f"fuzz-{uuid.uuid4().hex[:8]}"
    email = f"admin@{slug}.example.com"
    with httpx.Client(base_url=url, timeout=30) as client:
        _ok(
            client.post(
                "/platform/v1/tenants/",
                headers=OPERATOR,
                json={
                    "slug": slug,
                    "name": "Fuzz",
                    "admin_email": email,
                    "admin_password": PASSWORD,
                },
            )
        )
        login = {"tenant": slug, "email": email, "password": PASSWORD}
        token = _ok(client.post("/api/v1/auth/login", json=login), 200)["access_token"]
        admin = {"Authorization": f"Bearer {token}"}

        def key(name: str) -> dict[str, Any]:
            body = {"name": name, "scopes": ["admin"]}
            return _ok(client.post("/api/v1/api-keys/", headers=admin, json=body))

        keys = [key("fuzz"), key("fuzz revocation"), key("to revoke 1"), key("to revoke 2")]
        case_ids = [
            _ok(
                client.post(
                    "/api/v1/cases",
                    headers=admin,
                    json={
                        "kind": kind,
                        "channel": "phone",
                        "title": f"fuzz {kind}",
                        "description": "a case for the fuzzer to work on",
                        "customer": {"nickname": "fuzz", "phone": "13800000000"},
                        "demands": ["refund"],
                    },
                )
            )["id"]
            for kind in ("complaint", "service_request", "inquiry")
        ]
        public = _ok(
            client.post(
                f"/public/{slug}/cases",
                json={"title": "fuzz", "description": "from the web form"},
            )
        )
    return Tenant(
        slug=slug,
        key=keys[0]["key"],
        spare_key=keys[1]["key"],
        revocable=[k["id"] for k in keys[2:]],
        case_ids=case_ids,
        public_number=public["number"],
        public_token=public["token"],
    )


def _config(token: str | None, values: dict[str, list[str]]) -> str:
    """A schemathesis.toml: the bearer token and, for parameters named in `values`, real
    values drawn half of the time (the other half stays generated)."""
    lines = [CHECKS]
    if token is not None:
        lines.append(f'[auth.openapi.bearer]\nbearer = "{token}"\n')
    for parameter, choices in values.items():
        name = parameter.replace(".", "_")
        lines.append(f"[dictionaries.{name}]\nvalues = {json.dumps(choices)}\n")
    if values:
        lines.append("[parameters]")
        for parameter in values:
            name = parameter.replace(".", "_")
            lines.append(f'"{parameter}" = {{ dictionary = "{name}", probability = 0.5 }}')
    return "\n".join(lines) + "\n"


def _run(
    url: str,
    folder: Path,
    name: str,
    token: str | None,
    values: dict[str, list[str]],
    *filters: str,
) -> Run:
    config = folder / f"{name}.toml"
    config.write_text(_config(token, values))
    report = folder / f"{name}.json"
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{url}/schema/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *filters,
    ]
    done = subprocess.run(
        command,
        cwd=folder,  # schemathesis keeps its cache in the working directory
        capture_output=True,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT,
    )
    output = done.stdout + done.stderr
    found: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
    return Run(name=name, code=done.returncode, report=found, output=output)


def _failures(output: str) -> str:
    """Schemathesis' account of the failures (each with its `curl`) and its summary."""
    start = output.find(" FAILURES ")
    return output[max(start - 40, 0) :][:60_000] if start >= 0 else output[-20_000:]


def _figures(run: Run) -> str:
    report = run.report
    operations = report.get("operations", {})
    cases = report.get("test_cases", {})
    return (
        f"schemathesis {run.name}: {operations.get('tested', '?')} operations, "
        f"{cases.get('generated', '?')} cases, {cases.get('unique_failures', '?')} failures, "
        f"{len(report.get('errors', []))} errors, {report.get('running_time', 0):.0f} s "
        f"(seed {report.get('seed', SEED)}, exit {run.code})"
    )


def test_the_served_api_answers_as_its_openapi_document_says(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = _throwaway_tenant(server)
    case_ids = {"path.case_id": tenant.case_ids}
    public = {
        "path.tenant": [tenant.slug],
        "path.number": [tenant.public_number],
        "query.token": [tenant.public_token],
    }
    runs = [
        _run(
            server,
            tmp_path,
            "tenant",
            tenant.key,
            case_ids,
            "--include-path-regex",
            "^/api/",
            "--exclude-path",
            "/api/v1/auth/login",
            "--exclude-operation-id",
            "ApiV1ApiKeysKeyIdRevokeKey",
        ),
        _run(
            server,
            tmp_path,
            "public",
            None,
            public,
            "--include-path-regex",
            "^/(public|health|metrics)|^/api/v1/auth/login$",
        ),
        _run(
            server,
            tmp_path,
            "key revocation",
            tenant.spare_key,
            {"path.key_id": tenant.revocable},
            "--include-operation-id",
            "ApiV1ApiKeysKeyIdRevokeKey",
        ),
        # Last: the operator API may suspend the throwaway tenant.
        _run(
            server, tmp_path, "operator", OPERATOR_TOKEN, {}, "--include-path-regex", "^/platform/"
        ),
    ]
    with capsys.disabled():
        print()
        for run in runs:
            print(_figures(run))
    failed = [
        run
        for run in runs
        if run.code != 0 or run.report.get("test_cases", {}).get("unique_failures")
    ]
    assert not failed, "\n\n".join(f"{_figures(r)}\n{_failures(r.output)}" for r in failed)
    assert all(r.report["operations"]["tested"] > 0 for r in runs), [_figures(r) for r in runs]
