"""Messy Chinese customer records with known truth, for the identity-resolution benchmark.

Each person gets one clean record and, often, more records as other channels spell them:
traditional characters, pinyin in either order, phone numbers as +86 / 0086 / spaced /
dashed / full-width, other date formats, typos, missing values and moved addresses.
Households share a phone and an address (and often the surname), so the same phone is
not always the same person.

    python bench/chinese_people.py --people 10000 --out people.csv  [--seed 7]

writes id, name, phone, email, birthday, address and the true `person` column.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pypinyin import lazy_pinyin

from guanxi.customers.names import COMMON_SURNAMES, surname_pinyin

GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红志建文辉力永健世广义兴良海山仁"
    "波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博"
    "诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣"
    "朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘秀娟英华慧巧美"
    "淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍"
    "贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚"
    "苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜"
    "可姬舒影荔枝思丽")
PLACES = [
    ("北京市", "北京市", ["朝阳区", "海淀区", "东城区", "西城区", "丰台区"]),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区"]),
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区", "白云区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "罗湖区", "宝安区"]),
    ("浙江省", "杭州市", ["西湖区", "上城区", "拱墅区", "滨江区"]),
    ("江苏省", "南京市", ["玄武区", "鼓楼区", "秦淮区", "建邺区"]),
    ("四川省", "成都市", ["锦江区", "青羊区", "武侯区", "成华区"]),
    ("湖北省", "武汉市", ["江岸区", "武昌区", "洪山区", "汉阳区"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "莲湖区", "未央区"]),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区"]),
]
STREETS = list("中山人民解放建设和平胜利光明新华东风青年文化长江黄河")
STREET_SUFFIX = ["路", "大道", "街", "巷"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com"]
FULLWIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def traditional(text: str) -> str:
    return _s2t().convert(text)


def _surname_weights() -> list[float]:
    # Roughly Zipf: 王 李 张 are each ~7% of China, the long tail much rarer.
    return [1.0 / (rank + 1) ** 0.9 for rank in range(len(COMMON_SURNAMES))]


class Person:
    __slots__ = ("address", "birthday", "email", "family", "given", "id", "phone")

    def __init__(self, **kw: object) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _address(rng: random.Random) -> str:
    province, city, districts = rng.choice(PLACES)
    street = rng.choice(STREETS) + rng.choice(STREETS) + rng.choice(STREET_SUFFIX)
    return (f"{province if province != city else ''}{city}{rng.choice(districts)}"
            f"{street}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室")


def _people(n: int, rng: random.Random) -> Iterator[Person]:
    weights = _surname_weights()
    made = 0
    while made < n:
        # A household of 1-4 people; bigger ones share phone and address.
        size = rng.choices([1, 2, 3, 4], weights=[70, 18, 8, 4])[0]
        family = rng.choices(COMMON_SURNAMES, weights=weights)[0]
        address = _address(rng)
        home_phone = "1" + rng.choice("3578") + "".join(rng.choice("0123456789")
                                                         for _ in range(9))
        for member in range(min(size, n - made)):
            own_family = family if member == 0 or rng.random() < 0.7 else rng.choices(
                COMMON_SURNAMES, weights=weights)[0]
            given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice([1, 2, 2, 2])))
            phone = home_phone if (size > 1 and rng.random() < 0.6) else (
                "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9)))
            py = surname_pinyin(own_family) + "".join(lazy_pinyin(given))
            email = (f"{py}{rng.randint(1, 9999)}@{rng.choice(DOMAINS)}"
                     if rng.random() < 0.7 else "")
            birthday = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))
            yield Person(id=made, family=own_family, given=given, phone=phone, email=email,
                         birthday=birthday, address=address)
            made += 1


def _typo(text: str, rng: random.Random, alphabet: str) -> str:
    if len(text) < 2:
        return text
    i = rng.randrange(len(text))
    kind = rng.random()
    if kind < 0.5:
        return text[:i] + rng.choice(alphabet) + text[i + 1:]
    if kind < 0.8 and i < len(text) - 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + text[i + 1:]


def _name(p: Person, rng: random.Random, messy: bool) -> str:
    name = p.family + p.given
    if not messy:
        return name
    r = rng.random()
    fam_py = surname_pinyin(p.family).capitalize()
    giv_py = "".join(lazy_pinyin(p.given)).capitalize()
    if r < 0.25:
        return traditional(name)
    if r < 0.40:
        return f"{fam_py} {giv_py}"
    if r < 0.50:
        return f"{giv_py} {fam_py}"
    if r < 0.55:
        return f"{fam_py.upper()} {giv_py}"
    if r < 0.60:
        return f" {p.family} {p.given} "
    return name


def _phone(p: Person, rng: random.Random, messy: bool) -> str:
    d = p.phone
    if not messy:
        return d
    r = rng.random()
    if r < 0.10:
        return ""
    if r < 0.15:
        d = _typo(d, rng, "0123456789")
    r = rng.random()
    if r < 0.2:
        return f"+86 {d[:3]} {d[3:7]} {d[7:]}"
    if r < 0.35:
        return f"0086-{d}"
    if r < 0.5:
        return f"{d[:3]}-{d[3:7]}-{d[7:]}"
    if r < 0.6:
        return d.translate(FULLWIDTH)
    if r < 0.7:
        return f"+86{d}"
    return d


def _email(p: Person, rng: random.Random, messy: bool) -> str:
    if not p.email or not messy:
        return p.email
    r = rng.random()
    if r < 0.3:
        return ""
    if r < 0.4:
        return p.email.upper()
    if r < 0.47:
        local, domain = p.email.split("@")
        return _typo(local, rng, "abcdefghijklmnopqrstuvwxyz") + "@" + domain
    return p.email


def _birthday(p: Person, rng: random.Random, messy: bool) -> str:
    b = p.birthday
    if not messy:
        return b.isoformat()
    r = rng.random()
    if r < 0.15:
        return ""
    if r < 0.35:
        return f"{b.year}/{b.month}/{b.day}"
    if r < 0.5:
        return f"{b.year}年{b.month}月{b.day}日"
    if r < 0.6:
        return f"{b:%Y%m%d}"
    if r < 0.63:  # day and month typed the other way round
        try:
            return dt.date(b.year, b.day, b.month).isoformat()
        except ValueError:
            return b.isoformat()
    return b.isoformat()


def _address_variant(p: Person, rng: random.Random, messy: bool) -> str:
    if not messy:
        return p.address
    r = rng.random()
    if r < 0.15:
        return ""
    if r < 0.30:
        return _address(rng)  # moved house
    if r < 0.45:
        return traditional(p.address)
    if r < 0.6:  # without the province
        return p.address.split("省", 1)[-1]
    return p.address


def records(people: int, seed: int = 7) -> Iterator[dict[str, str]]:
    """Yield records in a shuffled-enough order; `person` is the truth."""
    rng = random.Random(seed)
    counter = 0
    for p in _people(people, rng):
        copies = 1 + rng.choices([0, 1, 2, 3], weights=[45, 35, 14, 6])[0]
        for copy in range(copies):
            messy = copy > 0 or rng.random() < 0.3
            counter += 1
            yield {
                "id": f"r{counter}",
                "name": _name(p, rng, messy),
                "phone": _phone(p, rng, messy),
                "email": _email(p, rng, messy),
                "birthday": _birthday(p, rng, messy),
                "address": _address_variant(p, rng, messy),
                "person": str(p.id),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "name", "phone", "email", "birthday",
                                                "address", "person"])
        writer.writeheader()
        writer.writerows(records(args.people, args.seed))


if __name__ == "__main__":
    main()
