"""The standardisation module: pure functions, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.core.errors import InvalidInput
from guanxi.dataquality.matching import email_key, phone_key
from guanxi.dataquality.standardize import (
    MissingPolicy,
    apply_missing_policy,
    normalize_phone,
    parse_address,
    parse_date,
    parse_gender,
    person_name,
    to_simplified,
)


@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "0086-138-0013-8000", "13800138000",
                                 "１３８００１３８０００", "(+86) 138 0013 8000"])
def test_phone_spellings_become_one_e164(raw):
    assert normalize_phone(raw, region="CN") == "+8613800138000"
    assert phone_key(raw) == "8613800138000"


def test_invalid_phone_names_field_value_and_reason():
    with pytest.raises(InvalidInput) as exc:
        normalize_phone("1380013", region="CN", field="phone")
    error = exc.value.errors[0]
    assert (error.field, error.value) == ("phone", "1380013")
    assert "phone" in error.message.lower()


@pytest.mark.parametrize("raw, family, given, key", [
    ("張偉", "張", "偉", "zhangwei"),           # traditional, display kept as entered
    ("欧阳娜娜", "欧阳", "娜娜", "ouyangnana"),   # compound surname
    ("单志明", "单", "志明", "shanzhiming"),      # polyphonic surnames read as surnames
    ("曾小贤", "曾", "小贤", "zengxiaoxian"),
    ("区家豪", "区", "家豪", "oujiahao"),
    ("Zhang Wei", "Zhang", "Wei", "zhangwei"),  # pinyin, surname first
    ("Wei Zhang", "Zhang", "Wei", "zhangwei"),  # pinyin, Western order
    ("Xiaoming Li", "Li", "Xiaoming", "lixiaoming"),
    ("Müller, Lena", "Müller", "Lena", "mullerlena"),
    ("Lena Müller", "Müller", "Lena", "mullerlena"),
])
def test_names(raw, family, given, key):
    name = person_name(raw)
    assert (name.family, name.given) == (family, given)
    assert name.full_key == key
    assert name.display == raw


def test_traditional_and_simplified_share_a_matching_key_but_not_a_display():
    assert to_simplified("歐陽娜娜") == "欧阳娜娜"
    assert person_name("張偉").hanzi_key == person_name("张伟").hanzi_key == "张伟"
    assert person_name("張偉").display == "張偉"


@pytest.mark.parametrize("raw", ["1990-01-02", "1990/1/2", "1990.1.2", "19900102",
                                 "1990年1月2日", "02/01/1990", "１９９０-０１-０２", 32875])
def test_date_formats(raw):
    assert parse_date(raw) == dt.date(1990, 1, 2)


def test_ambiguous_dates_follow_the_day_first_option():
    assert parse_date("02/01/1990", day_first=False) == dt.date(1990, 2, 1)
    assert parse_date("13/01/1990", day_first=False) == dt.date(1990, 1, 13)


@pytest.mark.parametrize("raw", ["1990-02-30", "yesterday", "1990/13/1"])
def test_bad_dates_are_rejected_with_the_value(raw):
    with pytest.raises(InvalidInput) as exc:
        parse_date(raw, field="birthday")
    assert exc.value.errors[0].field == "birthday"
    assert exc.value.errors[0].value == raw


@pytest.mark.parametrize("raw, value", [("男", "male"), ("女士", "female"), ("F", "female"),
                                        ("m", "male"), ("保密", "unknown"), ("", "unknown")])
def test_gender_values(raw, value):
    assert parse_gender(raw) == value


def test_chinese_address_split_including_municipalities_and_traditional():
    a = parse_address("廣東省廣州市天河區體育西路1號")
    assert (a.province, a.city, a.district, a.street) == ("广东省", "广州市", "天河区",
                                                          "体育西路1号")
    b = parse_address("上海浦东新区张江路88弄3号")
    assert (b.province, b.city, b.district) == ("上海市", "上海市", "浦东新区")
    c = parse_address("杭州市西湖区文三路")
    assert (c.province, c.city) == ("浙江省", "杭州市")


def test_missing_value_policies():
    assert apply_missing_policy(" ", field="email", policy=MissingPolicy.EMPTY) is None
    assert apply_missing_policy("N/A", field="source", policy=MissingPolicy.DEFAULT,
                                default="pos") == "pos"
    with pytest.raises(InvalidInput) as exc:
        apply_missing_policy("", field="phone", policy=MissingPolicy.REJECT)
    assert exc.value.errors[0].field == "phone"
    assert apply_missing_policy("x", field="a", policy=MissingPolicy.REJECT) == "x"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.", min_size=1, max_size=20),
       st.sampled_from(["qq.com", "163.com", "Example.COM"]))
def test_email_key_is_case_and_width_insensitive(local, domain):
    address = f"{local}@{domain}"
    wide = address.upper().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert email_key(wide) == email_key(address) == address.lower()
