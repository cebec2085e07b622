"""Evidence files: upload, list, download; size and type limits; stored on local disk."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest
from case_support import create_case, make_user
from litestar import Litestar
from litestar.testing import AsyncTestClient

from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import Client, TenantHandle, fields_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _url(case_id: str) -> str:
    return f"/api/v1/cases/{case_id}/attachments"


async def _upload(
    client: Client, headers: dict[str, str], case_id: str, name: str, data: bytes, content_type: str
) -> Any:
    return await client.post(
        _url(case_id), headers=headers, files={"file": (name, data, content_type)}
    )


async def test_upload_list_and_download(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    case = await create_case(client, tenant.headers)
    response = await _upload(client, tenant.headers, case["id"], "发票 照片.png", PNG, "image/png")
    assert response.status_code == 201, response.text
    attachment = response.json()
    assert attachment["filename"] == "发票 照片.png"
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()

    listed = await client.get(_url(case["id"]), headers=tenant.headers)
    assert [a["id"] for a in listed.json()] == [attachment["id"]]
    download = await client.get(f"{_url(case['id'])}/{attachment['id']}", headers=tenant.headers)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"].startswith("image/png")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # the bytes are on disk under the tenant's folder, content addressed
    files = _stored(settings.data_dir / "attachments" / str(tenant.id))
    assert [p.name for p in files] == [hashlib.sha256(PNG).hexdigest()]
    assert files[0].read_bytes() == PNG

    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert any(e["action"] == "attachment.create" for e in audit)
    timeline = (
        await client.get(f"/api/v1/cases/{case['id']}/timeline", headers=tenant.headers)
    ).json()["items"]
    assert timeline[-1]["type"] == "attachment_added"


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("notes.txt", "客户电话录音摘要".encode(), "text/plain; charset=utf-8"),
        ("call.mp3", b"ID3\x04\x00" + b"\x00" * 64, "audio/mpeg"),
        ("quote.docx", b"PK\x03\x04" + b"\x00" * 64, "application/octet-stream"),
    ],
)
async def test_allowed_types(
    client: Client, tenant: TenantHandle, name: str, data: bytes, content_type: str
) -> None:
    case = await create_case(client, tenant.headers)
    response = await _upload(client, tenant.headers, case["id"], name, data, content_type)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>", "text/html"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ("fake.png", b"<html><script>alert(1)</script></html>", "image/png"),
    ],
)
async def test_other_types_are_415(
    client: Client, tenant: TenantHandle, name: str, data: bytes, content_type: str
) -> None:
    case = await create_case(client, tenant.headers)
    response = await _upload(client, tenant.headers, case["id"], name, data, content_type)
    assert response.status_code == 415, response.text
    assert fields_of(response.json()["error"]) == ["file"]
    assert (await client.get(_url(case["id"]), headers=tenant.headers)).json() == []


@pytest.fixture
async def small_limit_client(settings: Settings) -> Any:
    app: Litestar = create_app(dataclasses.replace(settings, attachment_max_bytes=4096))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_a_file_over_the_limit_is_413_naming_the_limit(
    client: Client, small_limit_client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    case = await create_case(client, tenant.headers)
    big = PNG + b"\x00" * 5000
    response = await _upload(
        small_limit_client, tenant.headers, case["id"], "big.png", big, "image/png"
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["details"]["limit_bytes"] == 4096
    assert "4096 bytes" in error["message"]
    fits = await _upload(small_limit_client, tenant.headers, case["id"], "ok.png", PNG, "image/png")
    assert fits.status_code == 201, fits.text
    assert len(_stored(settings.data_dir)) == 1  # only the file that fitted


async def test_the_default_limit_is_ten_mebibytes(client: Client, tenant: TenantHandle) -> None:
    case = await create_case(client, tenant.headers)
    too_big = PNG + b"\x00" * (10 * 1024 * 1024)
    response = await _upload(client, tenant.headers, case["id"], "huge.png", too_big, "image/png")
    assert response.status_code == 413, response.text
    assert "10 MiB" in response.json()["error"]["message"]


async def test_bad_uploads_and_roles(client: Client, tenant: TenantHandle) -> None:
    case = await create_case(client, tenant.headers)
    no_file = await client.post(
        _url(case["id"]), headers=tenant.headers, files={"note": (None, b"x")}
    )
    assert no_file.status_code == 422, no_file.text
    as_form = await client.post(_url(case["id"]), headers=tenant.headers, data={"note": "x"})
    assert as_form.status_code == 415, as_form.text
    as_json = await client.post(_url(case["id"]), headers=tenant.headers, json={"file": "x"})
    assert as_json.status_code == 415, as_json.text
    empty = await _upload(client, tenant.headers, case["id"], "e.txt", b"", "text/plain")
    assert empty.status_code == 422, empty.text
    _, viewer = await make_user(client, tenant, "viewer")
    refused = await _upload(client, viewer, case["id"], "a.png", PNG, "image/png")
    assert refused.status_code == 403
    # viewers may still read the list
    assert (await client.get(_url(case["id"]), headers=viewer)).status_code == 200
