"""Personal names: Chinese surname-first and Western given-first, and their pinyin keys."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guanxi.customers.normalize import to_halfwidth

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "万俟", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔",
    "申屠", "闻人", "赫连", "呼延", "百里", "南宫", "西门", "独孤",
})

# Surnames whose reading differs from the character's everyday reading.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "区": "ou", "仇": "qiu", "解": "xie", "朴": "piao",
    "查": "zha", "盖": "ge", "乐": "yue", "翟": "zhai", "覃": "qin", "缪": "miao",
    "召": "shao", "黑": "he", "种": "chong", "秘": "bi", "员": "yun", "重": "chong",
    "冼": "xian", "洗": "xian", "万俟": "moqi", "尉迟": "yuchi", "长孙": "zhangsun",
    "车": "che", "沈": "shen", "任": "ren", "华": "hua", "纪": "ji", "葛": "ge",
    "繁": "po", "过": "guo", "句": "gou", "隗": "wei", "厍": "she", "尉": "yu",
    "宓": "mi", "单于": "chanyu", "曲": "qu", "角": "jue", "蕃": "pi",
}

# The most common surnames, most frequent first (plus the compound ones people meet).
COMMON_SURNAMES = [*(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区"
), "欧阳", "司马", "诸葛", "上官"]


def has_cjk(value: str) -> bool:
    return bool(_CJK.search(value or ""))


def split_chinese_name(full_name: str) -> tuple[str, str]:
    """'欧阳娜娜' -> ('欧阳', '娜娜'); '张伟' -> ('张', '伟')."""
    name = re.sub(r"\s+", "", full_name)
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def display_name(family_name: str, given_name: str) -> str:
    """Chinese names surname-first without a space; Western names given-first."""
    family, given = (family_name or "").strip(), (given_name or "").strip()
    if has_cjk(family) or has_cjk(given):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)


def lazy_pinyin(text: str, **options: Any) -> list[str]:
    """pypinyin, imported on first use (its dictionaries take a while to load, which
    every `guanxi` command would otherwise pay)."""
    from pypinyin import lazy_pinyin as convert

    return list(convert(text, **options))


@lru_cache(maxsize=65536)
def surname_pinyin(surname: str) -> str:
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    return "".join(SURNAME_READINGS.get(ch) or lazy_pinyin(ch)[0] for ch in surname)


COMPOUND_INITIALS = {"万俟": "mq", "尉迟": "yc", "长孙": "zs", "单于": "cy"}


@lru_cache(maxsize=4096)
def surname_initials(surname: str) -> str:
    """One letter per character, as people abbreviate: 欧阳 -> 'oy', 单 -> 's'."""
    if surname in COMPOUND_INITIALS:
        return COMPOUND_INITIALS[surname]
    return "".join((SURNAME_READINGS.get(ch) or lazy_pinyin(ch)[0] or "?")[0] for ch in surname)


@lru_cache(maxsize=65536)
def _given_pinyin(given: str) -> tuple[str, ...]:
    from pypinyin import Style

    return tuple(lazy_pinyin(given, style=Style.NORMAL, errors="ignore"))


def pinyin_keys(family_name: str, given_name: str) -> list[str]:
    """Pinyin search keys for a Chinese name: full, given-first and initials."""
    if not (has_cjk(family_name) or has_cjk(given_name)):
        return []
    fam = surname_pinyin(family_name) if family_name else ""
    given = _given_pinyin(given_name) if given_name else ()
    full = fam + "".join(given)
    initials = (surname_initials(family_name) if family_name else "") + "".join(
        g[:1] for g in given)
    keys = [full, "".join(given) + fam, initials]
    if given:
        keys.append("".join(given))
    return [k for k in keys if k]


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # loaded on first use: its dictionaries take a moment

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=200_000)
def to_simplified(value: str) -> str:
    """Traditional to simplified characters, for matching keys (display keeps the original)."""
    if not value or not has_cjk(value):
        return value
    return str(_t2s().convert(value))


def _strip_accents(value: str) -> str:
    if value.isascii():
        return value
    decomposed = unicodedata.normalize("NFKD", value)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def fold(value: str) -> str:
    """The matching form of free text: NFKC, lower case, no accents (Müller: muller),
    simplified characters (張偉: 张伟), no spaces."""
    text = unicodedata.normalize("NFKC", value or "").lower()
    return re.sub(r"\s+", "", to_simplified(_strip_accents(text)))


# --- a whole name, as people and spreadsheets write it ----------------------------

@lru_cache(maxsize=1)
def _pinyin_surname_rank() -> dict[str, int]:
    """Pinyin spellings of common surnames by frequency rank, to tell 'Zhang Wei' from
    'Wei Zhang'."""
    ranks: dict[str, int] = {}
    for rank, surname in enumerate(COMMON_SURNAMES):
        ranks.setdefault(surname_pinyin(surname), rank)
    return ranks


def _pinyin_surname_first(first: str, second: str) -> bool | None:
    """Whether a two-word pinyin name is written surname first; None if neither word is
    a known surname. When both are (Zhang Wei: 魏 is a surname too), the commoner wins."""
    ranks = _pinyin_surname_rank()
    a, b = ranks.get(_latin_key(first)), ranks.get(_latin_key(second))
    if a is None and b is None:
        return None
    if b is None:
        return True
    if a is None:
        return False
    return a <= b


@dataclass(frozen=True)
class PersonName:
    """A name as entered plus its matching keys."""

    family: str
    given: str
    display: str
    chinese: bool
    family_key: str  # pinyin for Chinese names, folded Latin otherwise
    given_key: str
    hanzi_key: str  # simplified characters, empty for Latin names

    @property
    def full_key(self) -> str:
        return self.family_key + self.given_key


def _latin_key(value: str) -> str:
    return re.sub(r"[^a-z]", "", fold(value))


@lru_cache(maxsize=200_000)
def person_name(full_name: str = "", family: str = "", given: str = "") -> PersonName:
    """Chinese names surname-first (欧阳 and other compound surnames, 单/曾/区 read as
    surnames), Western names given-first; pinyin spellings of Chinese names in either
    order ('Zhang Wei', 'WEI Zhang', 'zhang, wei') are recognised by the surname."""
    full_name, family, given = (to_halfwidth(v or "").strip() for v in (full_name, family,
                                                                         given))
    if full_name and not (family or given):
        if has_cjk(full_name):
            family, given = split_chinese_name(full_name)
        elif "," in full_name:  # 'Family, Given' as many exports write it
            family, _sep, given = (p.strip() for p in full_name.partition(","))
        else:
            parts = full_name.split()
            if len(parts) == 1:
                family, given = "", parts[0]
            elif len(parts) == 2 and _pinyin_surname_first(parts[0], parts[1]):
                family, given = parts[0], parts[1]
            else:
                family, given = parts[-1], " ".join(parts[:-1])
    chinese = has_cjk(family) or has_cjk(given)
    if chinese:
        fam_s, giv_s = to_simplified(family), to_simplified(given)
        keys = pinyin_keys(fam_s, giv_s)
        family_key = surname_pinyin(fam_s) if fam_s else ""
        given_key = keys[-1] if giv_s and keys else ""
        hanzi_key = fam_s + giv_s
    else:
        family_key, given_key, hanzi_key = _latin_key(family), _latin_key(given), ""
    shown = " ".join(full_name.split()) if full_name else display_name(family, given)
    return PersonName(family=family, given=given, display=shown,
                      chinese=chinese, family_key=family_key, given_key=given_key,
                      hanzi_key=hanzi_key)
