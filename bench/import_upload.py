"""The console's import upload: how long storing a file (its rows counted for the
progress bar) and showing its page (its first rows) take, on generated files.

    .venv/bin/python bench/import_upload.py [--rows 100000] [--keep DIR] [--platform DIR]

Files, generated with `bench/import_read.py`'s rows (the CFPB export format): a CSV; an
XLSX written as a stream (openpyxl's write-only mode: no stated range, inline text);
an XLSX laid out as Excel saves it (xlsxwriter: a stated range, shared strings). Per
file, each step in a fresh child process:

* **count**: what the upload request does besides storing the bytes (`count_rows`);
* **preview**: the upload's page (`preview_file`: how it is read, the first 10 rows);
* **header**: what starting a run checks (the file opened, its header read).

`--platform DIR` imports Closeloop from another checkout's `platform` folder, e.g. the
code before a change, to compare. Printed: seconds per step and the rows counted.
Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLATFORM = HERE.parent / "platform"
STEPS = ("count", "preview", "header")


def generate(folder: Path, count: int) -> list[Path]:
    sys.path[:0] = [str(HERE), str(PLATFORM)]
    import import_read

    csv_path, streamed = folder / f"cfpb_{count}.csv", folder / f"cfpb_{count}.xlsx"
    if not (csv_path.exists() and streamed.exists()):
        import_read.generate(folder, count, xlsx=True)
    excel = folder / f"cfpb_{count}_excel.xlsx"
    if not excel.exists():
        import xlsxwriter

        book = xlsxwriter.Workbook(str(excel))
        sheet = book.add_worksheet("complaints")
        sheet.write_row(0, 0, import_read.HEADER)
        for number, row in enumerate(import_read._rows(count), start=1):
            sheet.write_row(number, 0, row)
        book.close()
    return [csv_path, streamed, excel]


def measure(path: Path, step: str) -> dict[str, object]:
    """Runs in the child, with Closeloop importable from the chosen platform folder."""
    from closeloop.imports.preview import count_rows, preview_file
    from closeloop.imports.reading import open_table

    data = path.read_bytes()
    kind = "xlsx" if path.suffix == ".xlsx" else "csv"
    started = time.perf_counter()
    rows: object = None
    if step == "count":
        counted = count_rows(data, format=kind)
        rows = getattr(counted, "rows", counted)
        if getattr(counted, "exact", True) is False:
            rows = f"≤{rows}"
    elif step == "preview":
        rows = len(preview_file(data, format=kind).rows)
    else:
        with open_table(data, format=kind) as table:
            rows = len(table.header)
    return {"seconds": time.perf_counter() - started, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    parser.add_argument("--platform", type=Path, default=PLATFORM)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.platform.resolve()))
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="closeloop-bench-upload-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = generate(folder, args.rows)
    print(f"code: {args.platform}; load average: {os.getloadavg()[0]:.2f}")
    print(f"{'file':<28}{'MB':>6}  " + "".join(f"{step:>16}" for step in STEPS))
    for path in files:
        cells = []
        for step in STEPS:
            child = subprocess.run(  # noqa: S603 - this script, in a child process
                [
                    sys.executable,
                    __file__,
                    "--platform",
                    str(args.platform),
                    "--measure",
                    str(path),
                    step,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(child.stdout.strip().splitlines()[-1])
            cells.append(f"{got['seconds']:>7.2f} s {got['rows']!s:>7}")
        size = path.stat().st_size / 2**20
        print(f"{path.name:<28}{size:>6.1f}  " + "".join(f"{cell:>16}" for cell in cells))
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
