"""`closeloop cases import`: a file into a tenant, a dry run first, then again: no changes."""

from __future__ import annotations

from pathlib import Path

from import_support import count
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.settings import Settings
from support import TenantHandle, run_cli

FILE = "Id,Opened,Text\nh-1,2024-11-03,快递延误\nh-2,2024-11-04,质量问题\nh-3,not a date,坏行\n"
MAPPING = """
name = "helpdesk"
[fields]
external_id = "Id"
description = "Text"
received_at = "Opened"
channel = { value = "phone" }
"""


async def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    return await run_cli(settings, "cases", "import", *args)


async def test_the_command_imports_a_file_and_a_second_run_says_no_changes(
    settings: Settings, tenant: TenantHandle, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    data, mapping = tmp_path / "cases.csv", tmp_path / "helpdesk.toml"
    data.write_text(FILE, encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    args = (tenant.slug, str(data), "--mapping", str(mapping))

    code, out = await _cli(settings, *args, "--dry-run")
    assert code == 0, out
    assert "2 would be created" in out
    assert await count(owner_engine, tenant, "cases") == 0

    code, out = await _cli(settings, *args, "--errors", str(tmp_path / "errors.csv"))
    assert code == 0, out
    assert "rows 3: 2 created, 0 updated, 0 unchanged, 1 with errors" in out
    assert "row 4, Opened: 'not a date'" in out
    assert (tmp_path / "errors.csv").read_text().startswith("row,column,field,value,reason")
    assert await count(owner_engine, tenant, "cases") == 2

    code, out = await _cli(settings, *args)
    assert code == 0, out
    assert "0 created, 0 updated, 2 unchanged" in out
    assert "no changes" in out

    code, out = await _cli(settings, "nobody", str(data), "--mapping", "cfpb")
    assert code == 2
    assert "no tenant 'nobody'" in out
