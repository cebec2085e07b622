"""Case texts for the demo: real complaints from the shared data, read in place, and a
small built-in set when the data folder is absent.

The shared data (`CLOSELOOP_SHARED_DATA`, else `../shared/data` beside the checkout)
is never copied into the repository: Chinese complaints from a consumer complaint site
(`zh/heimao_tousu_sina_2020.csv`), negative food-delivery reviews
(`zh/waimai_10k.csv`) and US CFPB complaint narratives
(`cfpb/cfpb_hemkesh_eval_narratives_220.json`). Personal data is made up here.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
from pathlib import Path

__all__ = ["DemoText", "demo_texts", "fake_person", "shared_data_dir"]

_MAX_TITLE = 120
_MAX_DESCRIPTION = 2000
_WAIMAI_LIMIT = 400  # rows read of the 12,000: enough variety, a fast start


@dataclasses.dataclass(frozen=True, slots=True)
class DemoText:
    title: str
    description: str
    product: str | None = None
    language: str = "zh"


# Used when the shared data is not there (a checkout on its own).
FALLBACK = (
    DemoText("电水壶底部漏水", "买了两周的电水壶,烧水时底部渗水,桌面全湿,担心漏电。", "电水壶"),
    DemoText("快递一周未送达", "订单承诺三天送达,物流信息一周没有更新,客服一直说在催。"),
    DemoText("自动续费未告知", "会员到期后被自动扣费,开通时没有任何提示,要求退款。"),
    DemoText("外卖送达时饭菜已凉", "下单一个半小时才送到,汤洒了一半,饭菜全凉。"),
    DemoText("空调安装师傅迟到", "约好上午九点上门安装,十二点才到,还要求额外收费。", "空调"),
    DemoText("宽带频繁掉线", "最近一周每天晚上都断网好几次,报修后没有人联系。", "宽带"),
    DemoText("退货款迟迟未到账", "七天无理由退货,商家已签收十天,退款仍未到账。"),
    DemoText("洗衣机异响", "新买的洗衣机脱水时声音很大,像是零件松动。", "洗衣机"),
    DemoText(
        "Unauthorized charge on my card",
        "I was charged twice for the same purchase and the bank refuses to reverse it.",
        "Credit card",
        "en",
    ),
    DemoText(
        "Debt collector keeps calling",
        "A collection agency calls me several times a day about a debt I already paid.",
        "Debt collection",
        "en",
    ),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛")
_EN_FIRST = ("James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen")
_EN_LAST = ("Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Clark")


def shared_data_dir(configured: Path | None) -> Path:
    """`configured` (CLOSELOOP_SHARED_DATA), else `shared/data` beside the checkout."""
    if configured is not None:
        return configured
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def _clean(text: str, limit: int) -> str:
    text = " ".join(text.replace("\ufeff", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _heimao(folder: Path) -> list[DemoText]:
    path = folder / "zh" / "heimao_tousu_sina_2020.csv"
    found = []
    with path.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            title = _clean(row.get("投诉标题") or "", _MAX_TITLE)
            detail = _clean(row.get("投诉详情") or "", _MAX_DESCRIPTION)
            if title and detail:
                found.append(
                    DemoText(title, detail, _clean(row.get("投诉对象") or "", 100) or None)
                )
    return found


def _waimai(folder: Path) -> list[DemoText]:
    path = folder / "zh" / "waimai_10k.csv"
    found = []
    with path.open(encoding="utf-8-sig", newline="") as file:
        for number, row in enumerate(csv.DictReader(file)):
            if number >= _WAIMAI_LIMIT * 3:
                break
            review = _clean(row.get("review") or "", _MAX_DESCRIPTION)
            if row.get("label") == "0" and len(review) >= 8:
                found.append(DemoText(_clean(review, 30), review, "外卖"))
    return found[:_WAIMAI_LIMIT]


def _cfpb(folder: Path) -> list[DemoText]:
    path = folder / "cfpb" / "cfpb_hemkesh_eval_narratives_220.json"
    found = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        text = _clean(str(item.get("text") or ""), _MAX_DESCRIPTION)
        product = str(item.get("expected_category") or "") or None
        if text:
            title = _clean(text.split(". ")[0], 80)
            found.append(DemoText(title, text, product, "en"))
    return found


def demo_texts(folder: Path) -> tuple[list[DemoText], list[DemoText], bool]:
    """(Chinese texts, English texts, whether they came from the shared data)."""
    try:
        chinese = _heimao(folder) + _waimai(folder)
        english = _cfpb(folder)
    except (OSError, ValueError, csv.Error):
        chinese, english = [], []
    if not chinese or not english:
        return (
            [t for t in FALLBACK if t.language == "zh"],
            [t for t in FALLBACK if t.language == "en"],
            False,
        )
    return chinese, english, True


def fake_person(rng: random.Random, number: int, english: bool) -> dict[str, str]:
    """A made-up customer: name, phone (a 1380000 test range number), e-mail, nickname."""
    phone = f"1380000{number:04d}"
    if english:
        first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
        return {
            "name": f"{first} {last}",
            "nickname": first,
            "phone": phone,
            "email": f"{first.lower()}.{last.lower()}{number}@example.com",
        }
    surname = rng.choice(_SURNAMES)
    name = surname + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    return {
        "name": name,
        "nickname": f"{surname}先生" if number % 2 else f"{surname}女士",
        "phone": phone,
        "email": f"customer{number}@example.cn",
    }
