"""Deterministic demo and benchmark data: realistic people, purchase histories with very
different rates (some customers stop buying), interactions on several channels.

Rows are generated from one seeded RNG and written in batches straight through the
database cursor, so 100k customers with their orders and events load in minutes."""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from guanxi.audit.services import log_action
from guanxi.core.bulk import insert_rows
from guanxi.core.dbstats import statistics_refresh
from guanxi.core.forking import forked
from guanxi.customers import search
from guanxi.customers.names import COMMON_SURNAMES as SURNAMES
from guanxi.customers.names import display_name, pinyin_keys
from guanxi.timeline.services import NewEvent, event_rows, event_rows_append

GIVEN_CHARS = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力晶燕鹏宇浩凯欣怡婷雪琳颖晨佳慧俊峰志国海波斌梅兰琴云飞龙凤鑫瑶琪嘉子轩涵梓萱诗雨思博")
WEST_GIVEN = ["Anna", "Lena", "Lukas", "Jonas", "Felix", "Maria", "Sophie", "Paul", "Leon", "Emma", "Mia", "Noah", "Ben", "Clara", "Max", "Julia", "Laura", "David", "Daniel", "Sarah", "Thomas", "Michael", "Emily", "James", "Olivia", "Liam", "Charlotte", "Henry", "Amelia", "Lucas"]
WEST_FAMILY = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Martin", "Bernard", "Dubois", "Rossi", "Garcia", "Silva"]
CN_REGIONS = ["浙江省杭州市", "浙江省宁波市", "上海市", "北京市", "广东省深圳市", "广东省广州市",
              "江苏省南京市", "江苏省苏州市", "四川省成都市", "湖北省武汉市", "福建省厦门市",
              "山东省青岛市", "陕西省西安市", "重庆市", "天津市"]
WEST_REGIONS = ["Berlin", "Hamburg", "München", "Frankfurt am Main", "Köln", "Leipzig"]
CN_MOBILE = ["133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "180",
             "186", "187", "188", "189"]
CN_MAIL = ["qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "outlook.com"]
WEST_MAIL = ["gmail.com", "web.de", "gmx.de", "outlook.com", "example.com"]
OCCUPATIONS = ["教师", "工程师", "设计师", "医生", "会计", "销售经理", "学生", "自由职业", "店主",
               "Engineer", "Designer", "Consultant", ""]
SOURCES = ["shop", "pos", "wechat", "web", "app", "phone", "referral"]
SOURCE_WEIGHTS = [25, 20, 25, 10, 10, 5, 5]
CHANNELS = ["shop", "pos", "wechat", "web", "app"]
PRODUCTS = [
    ("TEA-LJ-250", "西湖龙井 250g", "茶叶", "268.00"), ("TEA-PE-357", "普洱茶饼 357g", "茶叶", "198.00"),
    ("TEA-TGY-200", "铁观音 200g", "茶叶", "158.00"), ("TEA-BLK-100", "正山小种 100g", "茶叶", "88.00"),
    ("CUP-CER-01", "青瓷茶杯", "茶具", "69.00"), ("POT-ZS-01", "紫砂壶", "茶具", "680.00"),
    ("SET-GIFT-01", "中秋礼盒", "礼盒", "399.00"), ("SET-GIFT-02", "新春礼盒", "礼盒", "499.00"),
    ("SILK-SCF-01", "真丝围巾", "服饰", "329.00"), ("SILK-PJ-01", "真丝睡衣", "服饰", "899.00"),
    ("COF-BEAN-1", "云南咖啡豆 500g", "咖啡", "118.00"), ("COF-DRIP-1", "挂耳咖啡 10包", "咖啡", "49.00"),
    ("SNK-MOON-1", "鲜肉月饼 6只", "点心", "78.00"), ("SNK-NUT-1", "每日坚果 30袋", "点心", "139.00"),
    ("HOME-INC-1", "檀香线香", "家居", "59.00"), ("HOME-CND-1", "香薰蜡烛", "家居", "128.00"),
]
STORES = ["杭州西湖店", "上海静安店", "北京三里屯店", "深圳万象城店", "Berlin Mitte", ""]
# What staff write after a call or visit, in the customer's language.
NOTES = ["客户咨询新品到货时间", "回访满意度，反馈包装很好", "投诉快递延迟，已安排补偿",
         "到店试饮，对龙井感兴趣", "生日月，赠送小礼品", "咨询企业团购价格"]
NOTES_EN = ["Asked about bulk pricing for the office", "Prefers delivery after 6pm",
            "Requested an invoice for last order", "Tasted the Longjing in store"]


@dataclass
class SeedResult:
    customers: int = 0
    identities: int = 0
    orders: int = 0
    order_lines: int = 0
    events: int = 0


class _Ids:
    """Explicit primary keys, so child rows can reference parents without reading back."""

    def __init__(self, table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            self.next = int(cursor.fetchone()[0]) + 1

    @classmethod
    def starting(cls, first: int) -> _Ids:
        ids = cls.__new__(cls)
        ids.next = first
        return ids

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


def _reset_sequences(tables: Sequence[str]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))")


def ensure_products() -> dict[str, tuple[int, str, Decimal]]:
    from guanxi.customers.models import Product

    for sku, name, category, price in PRODUCTS:
        Product.objects.get_or_create(sku=sku, defaults={"name": name, "category": category,
                                                         "price": Decimal(price)})
    return {p.sku: (p.pk, p.name, p.price) for p in Product.objects.all()}


@functools.cache
def _region_codes() -> dict[str, str]:
    from guanxi.customers.regions import region_codes

    names = [*CN_REGIONS, *WEST_REGIONS]
    return dict(zip(names, region_codes(names), strict=True))


def _region_code(region: str) -> str:
    return _region_codes().get(region, "")


def _person(rng: random.Random, index: int) -> dict:
    chinese = rng.random() < 0.78
    if chinese:
        family = rng.choice(SURNAMES)
        given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2, 2))))
        region = rng.choice(CN_REGIONS)
        pinyin = _first_pinyin(family, given)
        phone = f"+86{rng.choice(CN_MOBILE)}{_unique_digits(index)}"
        email = f"{pinyin}{index}@{rng.choice(CN_MAIL)}"
        language = "zh-hans"
    else:
        family, given = rng.choice(WEST_FAMILY), rng.choice(WEST_GIVEN)
        region = rng.choice(WEST_REGIONS)
        phone = f"+49151{_unique_digits(index)}"
        email = f"{given.lower()}.{family.lower().replace('ü', 'ue')}{index}@{rng.choice(WEST_MAIL)}"
        language = "en"
    birthday = None
    if rng.random() < 0.75:
        birthday = dt.date(1955, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
    return {"family": family, "given": given, "region": region, "phone": phone,
            "email": email, "language": language, "birthday": birthday, "chinese": chinese}


def _unique_digits(index: int) -> str:
    """Eight digits that differ for every customer id (7919 is coprime with 10**8)."""
    return f"{(index * 7919 + 1234567) % 10**8:08d}"


def _first_pinyin(family: str, given: str) -> str:
    keys = pinyin_keys(family, given)
    return keys[0] if keys else "user"


TABLES = {"customer": "customers_customer", "identity": "customers_identity",
          "term": "customers_searchterm", "order": "customers_order",
          "line": "customers_orderline", "event": "customers_event",
          "consent": "customers_consent"}
COLUMNS = {
    "customer": ("id", "family_name", "given_name", "display_name", "gender", "birthday",
                 "lunar_birthday", "region", "region_code", "occupation", "preferred_language",
                 "preferred_channel", "owner_id", "company_id", "source", "attributes",
                 "created_at", "updated_at"),
    "identity": ("id", "customer_id", "kind", "system", "value", "verified", "is_primary",
                 "created_at"),
    "term": ("id", "customer_id", "term"),
    "consent": ("id", "customer_id", "channel", "purpose", "granted", "changed_at", "source",
                "proof", "recorded_by_id"),
    "order": ("id", "customer_id", "external_id", "channel", "store", "currency", "status",
              "total", "placed_at", "created_at", "updated_at"),
    "line": ("id", "order_id", "product_id", "sku", "name", "quantity", "unit_price",
             "line_total"),
}
PIPELINE_FROM = 20_000  # customers from which a second process generates while this writes


def generate(*, customers: int, seed: int, owners: Sequence[int] = (),
             now: dt.datetime | None = None, years: float = 3.0,
             progress: Callable[[int], None] | None = None, batch: int = 2000,
             processes: int | None = None) -> SeedResult:
    """Write `customers` customers with orders and events. Same seed, same data.

    From PIPELINE_FROM customers (or with `processes=2`) a forked process generates the
    rows while this one writes them (one core each); the rows are the same either way."""
    now = now or timezone.now().replace(microsecond=0)
    products = ensure_products()
    first_ids = {name: _Ids(table).next for name, table in TABLES.items()}
    make = _Batches(customers=customers, seed=seed, owners=owners, now=now, years=years,
                    batch=batch, products=products, first_ids=first_ids)
    pipelined = (processes or (2 if customers >= PIPELINE_FROM else 1)) > 1
    result = SeedResult()
    for rows, counts in (forked(make, "seeding") if pipelined else make()):
        with transaction.atomic():
            for name, columns in COLUMNS.items():
                insert_rows(TABLES[name], columns, rows[name])
            event_rows_append(rows["event"], with_ids=True)
        for key, value in vars(counts).items():
            setattr(result, key, getattr(result, key) + value)
        if progress:
            progress(counts.customers)
    _reset_sequences(list(TABLES.values()))
    if not connection.in_atomic_block:  # (tests seed inside a transaction)
        statistics_refresh()
    # One entry for the whole run: rows written in bulk bypass the per-record services.
    log_action(actor=None, action="customers.seed", object_type="customers.customer",
               extra={"seed": seed, "as_of": now.isoformat(), **vars(result)})
    return result


Batch = tuple[dict[str, list[Any]], SeedResult]


@dataclass
class _Batches:
    """The seeded rows, a batch of customers at a time (no database access: ids continue
    from `first_ids`, read before)."""

    customers: int
    seed: int
    owners: Sequence[int]
    now: dt.datetime
    years: float
    batch: int
    products: dict[str, tuple[int, str, Decimal]]
    first_ids: dict[str, int]

    def __call__(self) -> Iterator[Batch]:
        rng = random.Random(self.seed)
        seed, owners, now = self.seed, self.owners, self.now
        start = now - dt.timedelta(days=365 * self.years)
        products = self.products
        skus = sorted(products)
        adapt = connection.ops.adapt_datetimefield_value
        ids = {name: _Ids.starting(first) for name, first in self.first_ids.items()}
        result = SeedResult()
        buffers: dict[str, list[Any]] = {k: [] for k in TABLES}
        events: list[NewEvent] = []

        def done() -> Batch:
            nonlocal result, buffers, events
            buffers["event"] = event_rows(events, with_ids=True, checked=True)
            out = (buffers, result)
            result = SeedResult()
            buffers = {k: [] for k in TABLES}
            events = []
            return out

        for _ in range(self.customers):
            cid = ids["customer"].take()
            p = _person(rng, cid)
            joined = start + dt.timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
            joined_s = adapt(joined)
            gender = rng.choice(("female", "male", "female", "male", "unknown"))
            lunar = bool(p["birthday"]) and p["chinese"] and rng.random() < 0.15
            name = display_name(p["family"], p["given"])
            source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
            buffers["customer"].append((
                cid, p["family"], p["given"], name, gender,
                connection.ops.adapt_datefield_value(p["birthday"]), lunar, p["region"],
                _region_code(p["region"]), rng.choice(OCCUPATIONS), p["language"],
                rng.choice(("wechat", "sms", "email", "")) if p["chinese"] else "email",
                rng.choice(owners) if owners and rng.random() < 0.8 else None, None, source,
                json.dumps({"vip_card": f"V{cid:07d}"} if rng.random() < 0.1 else {}),
                joined_s, joined_s))
            result.customers += 1
            emails = [p["email"]] if rng.random() < 0.85 else []
            phones = [p["phone"]] if rng.random() < 0.9 else []
            for kind, values in (("email", emails), ("phone", phones)):
                for value in values:
                    buffers["identity"].append((ids["identity"].take(), cid, kind, "", value,
                                                rng.random() < 0.6, True, joined_s))
                    result.identities += 1
            if source in ("wechat", "shop") and rng.random() < 0.7:
                buffers["identity"].append((ids["identity"].take(), cid, "wechat_unionid", "",
                                            f"o{seed:x}{cid:09d}u", True, True, joined_s))
                result.identities += 1
            for term in search.terms_for(family_name=p["family"], given_name=p["given"],
                                         display_name=name, emails=emails, phones=phones):
                buffers["term"].append((ids["term"].take(), cid, term))
            if rng.random() < 0.45:
                for channel in ("sms", "wechat", "email"):
                    if rng.random() < 0.6:
                        buffers["consent"].append((ids["consent"].take(), cid, channel, "marketing",
                                                   rng.random() < 0.8, joined_s, source,
                                                   "signup form checkbox", None))
            events.append(NewEvent(id=ids["event"].take(), customer_id=cid,
                                   kind="customer_created", occurred_at=joined, source=source))
            # Purchase behaviour: a gamma-distributed yearly rate, a lognormal basket size, and
            # for about a third a moment after which they stop buying.
            rate = rng.gammavariate(0.9, 3.0)
            basket = rng.lognormvariate(5.2, 0.6)
            stop = now
            if rng.random() < 0.35:
                stop = joined + (now - joined) * rng.uniform(0.1, 0.8)
            t = joined
            while rate > 0.05:
                t += dt.timedelta(days=rng.expovariate(rate) * 365)
                if t >= stop:
                    break
                oid = ids["order"].take()
                t_s = adapt(t)
                channel = rng.choice(CHANNELS)
                total = Decimal("0.00")
                count = 0
                for _ in range(1 + int(rng.random() < 0.4) + int(rng.random() < 0.15)):
                    sku = skus[min(len(skus) - 1, int(rng.random() ** 1.5 * len(skus)))]
                    pid, pname, price = products[sku]
                    qty = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                    line_total = (price * qty).quantize(Decimal("0.01"))
                    total += line_total
                    count += qty
                    buffers["line"].append((ids["line"].take(), oid, pid, sku, pname, qty,
                                            str(price), str(line_total)))
                    result.order_lines += 1
                if basket > 400:  # big spenders buy more of everything
                    total = (total * Decimal(str(round(basket / 400, 2)))).quantize(Decimal("0.01"))
                status = "refunded" if rng.random() < 0.03 else "paid"
                buffers["order"].append((oid, cid, f"S{seed}-{oid}", channel,
                                         rng.choice(STORES) if channel == "pos" else "", "CNY",
                                         status, str(total), t_s, t_s, t_s))
                result.orders += 1
                events.append(NewEvent(
                    id=ids["event"].take(), customer_id=cid, kind="order_placed", occurred_at=t,
                    channel=channel, source=channel, order_id=oid,
                    data={"order_id": oid, "ref": f"S{seed}-{oid}", "total": str(total),
                          "currency": "CNY", "items": count}))
            # Digital and human touchpoints, denser while the customer is active.
            touches = min(60, int(rng.expovariate(1 / 6.5)))  # ~10 events a customer in all
            active_span = max(1.0, (stop - joined).total_seconds())
            for _ in range(touches):
                when = joined + dt.timedelta(seconds=rng.random() * active_span)
                kind = rng.choices(("page_viewed", "email_opened", "wechat_message", "app_opened",
                                    "call", "visit", "note", "complaint"),
                                   (35, 20, 15, 10, 8, 5, 5, 2))[0]
                summary = rng.choice(NOTES if p["chinese"] else NOTES_EN) if kind in ("call", "visit", "note", "complaint") else ""
                events.append(NewEvent(
                    id=ids["event"].take(), customer_id=cid, kind=kind, occurred_at=when,
                    channel={"call": "phone", "email_opened": "email", "wechat_message": "wechat",
                             "visit": "pos"}.get(kind, "web"), source="seed", summary=summary))
            result.events = len(events)
            if len(buffers["customer"]) >= self.batch:
                yield done()
        if buffers["customer"]:
            yield done()
