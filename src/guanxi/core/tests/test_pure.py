"""Pure functions: masking, names, search keys, cursors, birthdays, spreadsheet safety."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.core.cursors import decode_cursor, encode_cursor
from guanxi.core.errors import InvalidInput
from guanxi.core.masking import mask_email, mask_phone
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers.birthdays import next_birthday
from guanxi.customers.names import display_name, pinyin_keys, split_chinese_name
from guanxi.customers.search import query_terms, terms_for


def test_mask_phone_and_email_match_the_documented_forms():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_email("john@example.com") == "j***@example.com"
    assert mask_phone("+4915123456789").startswith("+49 ")
    assert mask_phone("+4915123456789").endswith("6789")


def test_chinese_names_split_surname_first_including_compound_surnames():
    assert split_chinese_name("张伟") == ("张", "伟")
    assert split_chinese_name("欧阳娜娜") == ("欧阳", "娜娜")
    assert display_name("张", "伟") == "张伟"
    assert display_name("Müller", "Lena") == "Lena Müller"


@pytest.mark.parametrize(("family", "given", "expected"), [
    ("单", "伟", "shanwei"), ("曾", "国藩", "zengguofan"), ("区", "志", "ouzhi"),
    ("张", "伟", "zhangwei"),
])
def test_polyphonic_surnames_get_their_surname_reading(family, given, expected):
    keys = pinyin_keys(family, given)
    assert keys[0] == expected
    assert any(len(k) == len(given) + 1 for k in keys)  # initials, e.g. "zw"


def test_search_terms_cover_name_pinyin_phone_suffix_and_email():
    terms = terms_for(family_name="张", given_name="伟", display_name="张伟",
                      emails=["zw@example.com"], phones=["+8613812345678"])
    for prefix in ("n:张伟", "n:zhangwei", "n:zw", "p:13812345678", "r:8765", "e:zw@example.com"):
        assert any(t.startswith(prefix) for t in terms), prefix
    assert query_terms("5678").prefixes == ["p:5678", "r:8765"]
    assert query_terms(" Zhang Wei ").prefixes == ["n:zhangwei", "e:zhangwei"]


def test_masked_roles_match_phones_and_emails_only_in_full():
    assert not query_terms("1380013", whole_contacts_only=True)
    assert not query_terms("8000", whole_contacts_only=True)
    assert query_terms("138 0013 8000", whole_contacts_only=True).exact == ["p:13800138000"]
    assert query_terms("zw@example.com", whole_contacts_only=True).exact == [
        "e:zw@example.com"]
    # a name search does not reach the email namespace
    assert query_terms("zw", whole_contacts_only=True).prefixes == ["n:zw"]


@pytest.mark.parametrize(("query", "name"), [("张伟", "張偉"), ("張偉", "张伟"),
                                             ("muller", "Müller"), ("Müller", "Muller"),
                                             ("jose", "José García")])
def test_search_folds_scripts_and_accents(query, name):
    terms = terms_for(family_name="", given_name="", display_name=name)
    prefix = query_terms(query).prefixes[0]
    assert any(t.startswith(prefix) for t in terms), (prefix, terms)


@given(st.integers(min_value=0, max_value=2**63 - 1),
       st.datetimes(timezones=st.just(dt.UTC), min_value=dt.datetime(1, 1, 2),
                    max_value=dt.datetime(9999, 12, 30)))
def test_cursor_round_trips(key, at):
    assert decode_cursor(encode_cursor([key]))[0] == key
    assert decode_cursor(encode_cursor([at.isoformat(), key]),
                         kinds=("datetime", "id")) == [at, key]


@pytest.mark.parametrize("values", [
    [10**20], [-1], ["12"], [True], [1.5], [None], [{"a": 1}], [1, 2],
])
def test_cursors_with_huge_or_wrong_typed_values_are_field_errors(values):
    with pytest.raises(InvalidInput) as exc:
        decode_cursor(encode_cursor(values))
    assert exc.value.errors[0].field == "cursor"


@pytest.mark.parametrize("values", [
    ["0001-01-01T00:00:00+08:00", 1], ["2024-01-01T00:00:00", 1], [5, 1], ["x" * 50, 1],
])
def test_time_cursors_out_of_range_naive_or_mistyped_are_field_errors(values):
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor(values), kinds=("datetime", "id"))


def test_malformed_cursor_is_a_field_error():
    with pytest.raises(InvalidInput) as exc:
        decode_cursor("not-base64!!")
    assert exc.value.errors[0].field == "cursor"


@given(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 12, 31)),
       st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2040, 12, 31)),
       st.booleans())
def test_next_birthday_is_today_or_within_fourteen_months(birthday, today, lunar):
    nxt = next_birthday(birthday, lunar=lunar, today=today)
    assert today <= nxt <= today + dt.timedelta(days=420)


@given(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2040, 12, 31)),
       st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2045, 12, 31)))
def test_lunar_birthdays_agree_with_borax(birthday, today):
    # borax (MIT) as an independent oracle of the Chinese calendar
    from borax.calendars.lunardate import LunarDate

    from guanxi.customers.birthdays import lunar_month_day

    born = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    assert lunar_month_day(birthday) == (born.month, born.day, bool(born.leap))
    nxt = next_birthday(birthday, lunar=True, today=today)
    on = LunarDate.from_solar_date(nxt.year, nxt.month, nxt.day)
    assert nxt >= today and (nxt - today).days <= 400
    assert (on.month, not on.leap) == (born.month, True)
    assert on.day == born.day or (on.day == born.day - 1 == 29)


def test_lunar_birthday_follows_the_lunar_calendar():
    # 1990-02-09 is lunar 1/14; in 2027 lunar 1/14 falls on 2027-02-20 or thereabouts
    nxt = next_birthday(dt.date(1990, 2, 9), lunar=True, today=dt.date(2027, 1, 1))
    assert nxt.month == 2 and nxt != dt.date(2027, 2, 9)


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\x00=cmd|' /C calc'!A0",
                                   "\x01\x0b=1+1", "＝SUM(A1)", "＋1", "－1", "＠x", " ＝1"])
def test_formula_cells_are_neutralised(value):
    cell = safe_cell(value)
    assert cell.startswith("'"), cell
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in cell)
    assert safe_cell("张伟") == "张伟"


def test_initials_take_one_letter_per_character_of_compound_surnames():
    assert "oynn" in pinyin_keys("欧阳", "娜娜")
    assert "sw" in pinyin_keys("单", "伟")
    assert "ycg" in pinyin_keys("尉迟", "恭")
