"""Import reading and mapping speed, and whether memory stays flat as the file grows.

    .venv/bin/python bench/import_read.py [--rows 20000,200000] [--keep DIR] [--no-xlsx]

Generates, with the given numbers of rows: CSV and XLSX files in the CFPB export format
(the 11,782 real CFPB rows repeated with new complaint ids; varied synthetic rows when
the shared data is absent), and a GBK-encoded CSV of the practice's record form (the
Chinese Heimao complaints repeated, with dates, channels, categories). Then measures,
each in a fresh child process so that its peak resident memory is its own:

* **read**: `open_table` + every row (CSV: encoding check, sniffing, csv module;
  XLSX: openpyxl read-only);
* **read+map**: the same rows through the shipped mapping (`cfpb`, `practice_form`)
  into `ImportedCase` records, as the importer does;
* for XLSX, python-calamine reading the same sheet, when it is installed, for comparison.

Printed per file and step: rows, seconds, rows per second, the child's peak RSS and its
RSS before reading (imports done), so the growth due to the file is the difference.
Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from closeloop.imports.template import TEMPLATE_COLUMNS  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATA = Path(os.environ.get("CLOSELOOP_SHARED_DATA") or ROOT.parent / "shared" / "data")
CFPB = DATA / "cfpb" / "cfpb_combined_full_schema.csv"
HEIMAO = DATA / "zh" / "heimao_tousu_sina_2020.csv"
HEADER = [
    "Date received", "Product", "Sub-product", "Issue", "Sub-issue",
    "Consumer complaint narrative", "Company public response", "Company", "State",
    "ZIP code", "Tags", "Consumer consent provided?", "Submitted via",
    "Date sent to company", "Company response to consumer", "Timely response?",
    "Consumer disputed?", "Complaint ID",
]  # fmt: skip


def _source_rows() -> list[list[str]]:
    if CFPB.is_file():
        with CFPB.open(encoding="utf-8", newline="") as handle:
            return [[row[h] for h in HEADER] for row in csv.DictReader(handle)]
    products = ["Mortgage", "Credit card", "Student loan", "Debt collection"]
    return [
        [
            f"20{10 + i % 15}-{1 + i % 12:02d}-{1 + i % 28:02d}", products[i % 4], "", "Other", "",
            f"Narrative {i} " * (i % 40), "", "ACME BANK", "CA", "90001", "", "N/A",
            ["Web", "Phone", "Referral"][i % 3], "2020-01-01", "Closed with explanation",
            "Yes", "N/A", str(i),
        ]
        for i in range(5000)
    ]  # fmt: skip


def _rows(count: int) -> itertools.islice[list[str]]:
    source = _source_rows()
    cycled = ([*row[:-1], str(10_000_000 + n)] for n, row in enumerate(itertools.cycle(source)))
    return itertools.islice(cycled, count)


def _form_rows(count: int) -> Iterator[list[str]]:
    """Rows of the practice's record form (the template's columns) with Chinese text."""
    if HEIMAO.is_file():
        with HEIMAO.open(encoding="utf-8", newline="") as handle:
            texts = [(r["投诉详情"], r["投诉对象"]) for r in csv.DictReader(handle)]
    else:
        texts = [(f"电水壶使用两周后底部漏水 {n}", "电水壶") for n in range(100)]
    channels, kinds = ["电话", "在线客服", "电子邮件", "门店"], ["产品质量", "物流延迟", "其他"]
    for n in range(count):
        detail, product = texts[n % len(texts)]
        values = {
            "投诉编号": f"{2020_000_000 + n}",
            "投诉日期": f"2020/{1 + n % 12}/{1 + n % 28} {n % 24}:{n % 60:02d}",
            "投诉渠道": channels[n % 4],
            "客户姓名*": f"客户{n}",
            "联系方式*": f"138{n:08d}",
            "投诉类型": kinds[n % 3],
            "紧急程度": "普通",
            "涉及产品/服务": product,
            "投诉内容详情": detail,
            "客户诉求": "退款、道歉",
            "首次客户反馈": "满意",
            "回访结果": "已解决满意",
        }
        yield [values.get(column.zh, "") for column in TEMPLATE_COLUMNS]


def generate(folder: Path, count: int, xlsx: bool) -> list[tuple[Path, str]]:
    made = []
    path = folder / f"cfpb_{count}.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(_rows(count))
    made.append((path, "cfpb"))
    if xlsx:
        book_path = folder / f"cfpb_{count}.xlsx"
        if not book_path.exists():
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("complaints")
            sheet.append(HEADER)
            for row in _rows(count):
                sheet.append(row)
            book.save(book_path)
        made.append((book_path, "cfpb"))
    form = folder / f"form_gbk_{count}.csv"
    if not form.exists():
        with form.open("w", encoding="gbk", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([column.zh for column in TEMPLATE_COLUMNS])
            writer.writerows(_form_rows(count))
    made.append((form, "practice_form"))
    return made


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(path: Path, step: str, mapping_name: str) -> dict[str, object]:
    """Runs in the child: one step over one file; returns the figures."""
    from closeloop.imports import Known, Mapper, open_table, shipped_mapping

    mapping = shipped_mapping(mapping_name)
    before = _rss_mib()
    started = time.perf_counter()
    rows = cases = 0
    encoding = None
    if step == "calamine":
        from python_calamine import CalamineWorkbook

        with open(path, "rb") as handle:
            book = CalamineWorkbook.from_filelike(handle)
            for _ in book.get_sheet_by_index(0).iter_rows():
                rows += 1
        rows -= 1  # the header
    else:
        with open_table(path, **mapping.read_options()) as table:
            encoding = table.encoding
            if step == "read":
                for _ in table.rows():
                    rows += 1
            else:
                known = Known.defaults()
                mapper = Mapper(mapping, table.header, known=known, time_zone=SHANGHAI)
                for _ in mapper.map_rows(table.rows()):
                    rows += 1
                cases = mapper.tally.cases
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "cases": cases,
        "seconds": seconds,
        "before": before,
        "peak": peak,
        "encoding": encoding,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="20000,200000")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    parser.add_argument("--no-xlsx", action="store_true")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1], args.measure[2])))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="closeloop-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import python_calamine  # noqa: F401

        calamine = True
    except ImportError:
        calamine = False
    print(f"source rows: {'CFPB ' + str(CFPB) if CFPB.is_file() else 'synthetic'}")
    print(f"{'file':<24}{'step':<10}{'rows':>9}{'s':>8}{'rows/s':>10}{'RSS before':>12}"
          f"{'peak RSS':>10}  encoding")  # fmt: skip
    for count in (int(n) for n in args.rows.split(",")):
        started = time.perf_counter()
        files = generate(folder, count, xlsx=not args.no_xlsx)
        print(f"  (generated {count:,} rows in {time.perf_counter() - started:.0f} s)")
        for path, mapping_name in files:
            steps = ["read", "read+map"]
            if path.suffix == ".xlsx" and calamine:
                steps.append("calamine")
            for step in steps:
                child = subprocess.run(  # noqa: S603 - this script, in a child process
                    [sys.executable, __file__, "--measure", str(path), step, mapping_name],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                got = json.loads(child.stdout.strip().splitlines()[-1])
                rate = got["rows"] / got["seconds"] if got["seconds"] else float("inf")
                print(
                    f"{path.name:<24}{step:<10}{got['rows']:>9,}{got['seconds']:>8.1f}"
                    f"{rate:>10,.0f}{got['before']:>10.0f}Mi{got['peak']:>8.0f}Mi"
                    f"  {got['encoding'] or ''}"
                )
    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
