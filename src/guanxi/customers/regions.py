"""Regions as codes: the 6-digit administrative division code (行政区划代码) of what was
typed — "杭州", "浙江杭州", "浙江省杭州市", "Hangzhou" are all 330100 — stored beside the
text, so a filter or segment rule on 杭州 finds every spelling. The codes come from the
address parser's tables (cpca, the Ministry of Civil Affairs' list); a code's prefix
selects everything under it (33: 浙江省, 3301: 杭州市, 330106: 西湖区)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from guanxi.customers.names import to_simplified

_LATIN = re.compile(r"[a-z]+")


@functools.cache
def _divisions() -> dict[str, tuple[str, int]]:
    """code -> (name, rank: 0 province, 1 city, 2 district)."""
    import cpca  # its tables load on first use (~1 s)

    out: dict[str, tuple[str, int]] = {}
    for info in cpca.ad_2_addr_dict.values():
        out[info.adcode] = (info.name, int(info.rank))
    return out


@functools.cache
def _by_pinyin() -> dict[str, str]:
    """"hangzhou" -> 330100, for provinces and cities typed in pinyin or English
    (names that two divisions share in pinyin are left out rather than guessed)."""
    from pypinyin import lazy_pinyin

    seen: dict[str, set[str]] = {}
    for code, (name, rank) in _divisions().items():
        if rank > 1 or name in ("市辖区", "县"):
            continue
        short = re.sub(r"(省|市|自治区|壮族|回族|维吾尔|特别行政区)+$", "", name) or name
        key = "".join(lazy_pinyin(short)).lower()
        seen.setdefault(key, set()).add(code)
    return {key: next(iter(codes)) for key, codes in seen.items() if len(codes) == 1}


def prefix(code: str) -> str:
    """The code's prefix that selects everything under it: 330000 -> 33, 330100 -> 3301."""
    code = code[:6]
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_codes(texts: Iterable[str]) -> list[str]:
    """The division code of each text ("" when none is recognised), in one batch."""
    texts = [to_simplified((t or "").strip()) for t in texts]
    out = [""] * len(texts)
    chinese = [i for i, t in enumerate(texts) if t and not t.isascii()]
    if chinese:
        import cpca

        table = cpca.transform([texts[i] for i in chinese])
        for i, adcode in zip(chinese, table["adcode"].tolist(), strict=True):
            out[i] = str(adcode or "")[:6]
    pinyin = _by_pinyin()
    for i, text in enumerate(texts):
        if text and text.isascii():
            words = _LATIN.findall(text.lower())
            # the most specific recognised word wins ("Hangzhou, Zhejiang" -> Hangzhou)
            found = [pinyin[w] for w in words if w in pinyin]
            out[i] = max(found, key=lambda c: len(prefix(c))) if found else ""
    return out


def region_code(text: str) -> str:
    return region_codes([text])[0] if text else ""


def label(code: str) -> str:
    """"浙江省 杭州市 西湖区" for 330106 (municipalities once: "上海市 徐汇区")."""
    divisions = _divisions()
    parts: list[str] = []
    for size in (2, 4, 6):
        if len(prefix(code)) < size:
            break
        part = (code[:size] + "000000")[:6]
        name = divisions.get(part, ("", 0))[0]
        if name and name not in ("市辖区", "县") and name not in parts:
            parts.append(name)
    return " ".join(parts)


@dataclass(frozen=True)
class RegionChoice:
    value: str  # the code prefix a filter uses
    label: str
    depth: int  # 0 province, 1 city, 2 district


def region_tree(codes: Iterable[str]) -> list[RegionChoice]:
    """The provinces, cities and districts the given codes fall in, as a tree in code
    order (for a picker: 省 → 市 → 区)."""
    prefixes: set[str] = set()
    for code in codes:
        if not code:
            continue
        p = prefix(code)
        for size in (2, 4, 6):
            if len(p) >= size:
                prefixes.add(p[:size])
    divisions = _divisions()
    out = []
    for p in sorted(prefixes):
        name = divisions.get((p + "000000")[:6], ("", 0))[0]
        if name and name not in ("市辖区", "县"):  # a municipality's city level is itself
            out.append(RegionChoice(p, name, len(p) // 2 - 1))
    return out
