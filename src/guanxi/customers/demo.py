"""Demo data: staff in every role, a few hundred customers with histories, and some messy
duplicates of the same people arriving from different channels in different formats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.accounts.services import team_get_or_create, user_create
from guanxi.core.models import SiteFlag
from guanxi.core.permissions import Role
from guanxi.customers import seeding, services

DEMO_FLAG = "demo_data_loaded"

# (username, role, team, family name, given name): staff appear by name, as in a real shop.
STAFF = [
    ("manager", Role.MANAGER, None, "周", "敏"),
    ("sales.east", Role.SALES, "华东销售 East", "王", "芳"),
    ("sales.east2", Role.SALES, "华东销售 East", "李", "强"),
    ("sales.south", Role.SALES, "华南销售 South", "陈", "静"),
    ("service", Role.SERVICE, None, "刘", "洋"),
    ("marketing", Role.MARKETING, None, "赵", "婷"),
    ("analyst", Role.ANALYST, None, "孙", "磊"),
]

# (existing-person lookup phone, messy second record as it arrives from another channel)
MESSY: list[dict[str, Any]] = [
    {"full_name": "張偉", "phones": ["0086 138-0013-8002"], "source": "pos",
     "region": "浙江省杭州市"},
    {"full_name": "Zhang Wei", "emails": ["Zhang.Wei@163.com"], "source": "shop",
     "region": "Hangzhou"},
    {"full_name": "张 伟", "phones": ["１３８００１３８００１"], "source": "wechat"},
    {"full_name": "歐陽娜娜", "phones": ["+86 139 0000 1112"], "source": "app",
     "region": "上海市"},
    {"full_name": "Nana Ouyang", "emails": ["nana.ouyang@qq.com"], "source": "web"},
    {"full_name": "Lena Müller", "emails": ["lena.mueller@web.de"], "phones": ["0151 23456789"],
     "source": "web", "region": "Berlin"},
    {"full_name": "Müller, Lena", "emails": ["Lena.Mueller+shop@web.de"], "source": "shop",
     "region": "Berlin"},
]
ORIGINALS: list[dict[str, Any]] = [
    {"full_name": "张伟", "phones": ["13800138000"], "emails": ["zhangwei@163.com"],
     "source": "shop", "region": "浙江省杭州市", "birthday": dt.date(1988, 5, 17)},
    {"full_name": "欧阳娜娜", "phones": ["13900001111"], "emails": ["nana.ouyang@qq.com.cn"],
     "source": "wechat", "region": "上海市", "birthday": dt.date(1995, 2, 9),
     "lunar_birthday": True},
    {"full_name": "Lena Müller", "emails": ["lena@mueller-design.de"],
     "phones": ["+49 151 2345 6780"], "source": "referral", "region": "Berlin",
     "preferred_language": "en"},
]


def demo_load(*, admin: Any, password: str | None, customers: int = 400,
              seed: int = 20261123) -> dict[str, int] | None:
    """Load the demo once; a second call finds the flag and adds nothing."""
    if SiteFlag.objects.filter(key=DEMO_FLAG).exists():
        return None
    with transaction.atomic():
        owners = []
        for username, role, team_name, family, given in STAFF:
            team = team_get_or_create(actor=admin, name=team_name) if team_name else None
            user = User.objects.filter(username=username).first() or user_create(
                actor=admin, username=username, password=password, role=role, team=team,
                first_name=given, last_name=family)
            if role == Role.SALES:
                owners.append(user.pk)
        result = seeding.generate(customers=customers, seed=seed, owners=owners,
                                  now=timezone.now().replace(microsecond=0))
        sales = User.objects.get(username="sales.east")
        created: list[Any] = []
        for data in [*ORIGINALS, *MESSY]:
            customer = services.customer_create(actor=admin, owner=sales, **data)
            # Free text as the shop's staff write it (the demo is a Hangzhou tea shop).
            services.interaction_log(actor=admin, customer=customer, kind="note",
                                     summary=seeding.NOTES[len(created) % len(seeding.NOTES)])
            created.append(customer)
        vip = created[0]
        services.tag_add(actor=admin, customer=vip, name="VIP")
        services.order_create(actor=admin, customer=vip, channel="pos", store="杭州西湖店",
                              lines=[services.OrderLineInput(sku="TEA-LJ-250", quantity=2),
                                     services.OrderLineInput(sku="POT-ZS-01")])
        SiteFlag.objects.create(key=DEMO_FLAG, value={"customers": result.customers,
                                                      "seed": seed})
    return {"customers": result.customers + len(ORIGINALS) + len(MESSY),
            "orders": result.orders + 1, "events": result.events}
