"""The Guanxi fields an import can fill, their labels, and the column headings that map
to them without asking (English and Chinese spellings seen in real exports)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ImportField:
    name: str
    label: object  # a lazy translation
    synonyms: tuple[str, ...] = ()


CUSTOMER_FIELDS = [
    ImportField("external_id", _("Customer number (external id)"),
                ("external id", "customer id", "customer no", "member id", "member no",
                 "客户编号", "会员号", "会员编号", "客户id", "会员id", "id")),
    ImportField("full_name", _("Full name"), ("name", "full name", "customer name", "姓名",
                                              "客户姓名", "名字", "会员姓名")),
    ImportField("family_name", _("Family name"), ("family name", "last name", "surname",
                                                  "姓", "姓氏")),
    ImportField("given_name", _("Given name"), ("given name", "first name", "forename",
                                                "名")),
    ImportField("email", _("Email"), ("email", "e-mail", "mail", "email address", "邮箱",
                                      "电子邮件", "电子邮箱")),
    ImportField("phone", _("Phone"), ("phone", "mobile", "cell", "telephone", "tel",
                                      "phone number", "手机", "手机号", "手机号码", "电话",
                                      "联系电话")),
    ImportField("wechat_unionid", _("WeChat UnionID"), ("unionid", "wechat unionid",
                                                        "微信unionid")),
    ImportField("birthday", _("Birthday"), ("birthday", "date of birth", "dob", "birth date",
                                            "生日", "出生日期")),
    ImportField("gender", _("Gender"), ("gender", "sex", "性别")),
    ImportField("address", _("Full address"), ("address", "full address", "地址",
                                                "详细地址", "收货地址")),
    ImportField("province", _("Province"), ("province", "state", "省", "省份")),
    ImportField("city", _("City"), ("city", "town", "市", "城市")),
    ImportField("district", _("District"), ("district", "区", "区县")),
    ImportField("street", _("Street"), ("street", "street address", "address line 1",
                                        "街道")),
    ImportField("postcode", _("Postcode"), ("postcode", "zip", "zip code", "postal code",
                                            "邮编", "邮政编码")),
    ImportField("region", _("Region"), ("region", "area", "地区", "区域")),
    ImportField("occupation", _("Occupation"), ("occupation", "job", "job title", "职业")),
    ImportField("company", _("Company"), ("company", "organisation", "organization",
                                          "公司", "单位")),
    ImportField("tags", _("Tags (comma separated)"), ("tags", "labels", "标签")),
    ImportField("preferred_language", _("Preferred language"), ("language", "语言")),
    ImportField("preferred_channel", _("Preferred channel"), ("preferred channel",
                                                              "偏好渠道")),
]

ORDER_FIELDS = [
    ImportField("external_id", _("Order number"), ("order id", "order no", "order number",
                                                   "订单号", "订单编号")),
    ImportField("customer_external_id", _("Customer number (external id)"),
                ("customer id", "customer no", "member id", "客户编号", "会员号")),
    ImportField("customer_email", _("Customer email"), ("email", "customer email", "邮箱")),
    ImportField("customer_phone", _("Customer phone"), ("phone", "mobile", "customer phone",
                                                        "手机", "手机号", "电话")),
    ImportField("placed_at", _("Order date"), ("date", "order date", "placed at", "time",
                                               "下单时间", "订单日期", "日期")),
    ImportField("total", _("Order total"), ("total", "amount", "order total", "金额",
                                            "订单金额", "实付金额")),
    ImportField("currency", _("Currency"), ("currency", "币种")),
    ImportField("channel", _("Sales channel"), ("channel", "渠道")),
    ImportField("store", _("Store"), ("store", "shop", "门店")),
    ImportField("status", _("Order status"), ("status", "订单状态")),
    ImportField("sku", _("SKU"), ("sku", "product code", "item code", "商品编码")),
    ImportField("product_name", _("Product name"), ("product", "item", "product name",
                                                    "商品", "商品名称")),
    ImportField("quantity", _("Quantity"), ("quantity", "qty", "数量")),
    ImportField("unit_price", _("Unit price"), ("price", "unit price", "单价")),
]

FIELDS_BY_KIND = {"customers": CUSTOMER_FIELDS, "orders": ORDER_FIELDS}


def field_names(kind: str) -> list[str]:
    return [f.name for f in FIELDS_BY_KIND[kind]]


def _heading_key(heading: str) -> str:
    return re.sub(r"[\s_\-.:：()（）]+", " ", heading.strip().lower()).strip()


def suggest_mapping(kind: str, columns: list[str]) -> dict[str, str]:
    """{column: field} for the headings we recognise; each field used once."""
    lookup: dict[str, str] = {}
    for f in FIELDS_BY_KIND[kind]:
        lookup.setdefault(_heading_key(f.name.replace("_", " ")), f.name)
        for s in f.synonyms:
            lookup.setdefault(_heading_key(s), f.name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        target = lookup.get(_heading_key(column))
        if target and target not in used:
            mapping[column] = target
            used.add(target)
    return mapping
