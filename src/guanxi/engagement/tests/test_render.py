"""Templates in a sandbox, salutations, SMS length, email HTML."""

from __future__ import annotations

import pytest

from guanxi.engagement.render import (
    TemplateError,
    check,
    email_html,
    render,
    salutation,
    sms_segments,
    sms_text,
    text_from_html,
)

CTX = {"customer": {"salutation": "王女士", "name": "王芳", "region": "浙江省"},
       "business": {"name": "龙井茶庄"}}


def test_variables_and_simple_conditions_render():
    assert render("{{ customer.salutation }}，您好", CTX) == "王女士，您好"
    source = "{% if customer.region %}{{ customer.region }}的{% else %}亲爱的{% endif %}朋友"
    assert render(source, CTX) == "浙江省的朋友"
    assert render(source, {"customer": {}}) == "亲爱的朋友"
    assert render("{{ customer.given_name | default('朋友') }}", {"customer": {}}) == "朋友"


@pytest.mark.parametrize("source", [
    "{% for x in customer %}{{ x }}{% endfor %}",
    "{{ customer.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ customer.name.upper() }}",
    "{% include 'x.html' %}",
    "{{ customer.name | upper }}",
    "{{ secret }}",
    "{% set x = 1 %}",
    "{{ customer.salutation",
])
def test_anything_beyond_variables_and_conditions_is_refused(source):
    with pytest.raises(TemplateError):
        check(source)


def test_the_error_names_the_line():
    with pytest.raises(TemplateError) as caught:
        check("第一行\n{{ nobody }}")
    assert caught.value.line == 2


def test_chinese_salutation():
    assert salutation(family_name="张", given_name="伟", full_name="张伟", gender="male",
                      language="zh-hans") == "张先生"
    assert salutation(family_name="王", given_name="芳", full_name="王芳", gender="female",
                      language="zh-hans") == "王女士"
    assert salutation(family_name="李", given_name="明", full_name="李明", gender="unknown",
                      language="zh-hans") == "李明"
    assert salutation(family_name="", given_name="", full_name="Ming", gender="male",
                      language="zh-hans") == "Ming"
    assert salutation(family_name="Smith", given_name="Ann", full_name="Ann Smith",
                      gender="female", language="en") == "Ms Smith"


def test_sms_length_and_segments():
    assert sms_segments("a" * 160) == (160, 1)
    assert sms_segments("a" * 161) == (161, 2)
    assert sms_segments("中" * 70) == (70, 1)
    assert sms_segments("中" * 71) == (71, 2)      # 67 per part once split
    assert sms_segments("中" * 134) == (134, 2)
    assert sms_segments("中" * 135) == (135, 3)
    assert sms_segments("[a]") == (5, 1)           # GSM extension characters count twice
    assert sms_segments("") == (0, 0)


def test_sms_text_has_the_sign_and_how_to_unsubscribe():
    assert sms_text("中秋快乐", sign="龙井茶庄", marketing=True) == "【龙井茶庄】中秋快乐 回T退订"
    assert sms_text("验证码 1234", sign="龙井茶庄", marketing=False) == "【龙井茶庄】验证码 1234"
    assert sms_text("【别的】回T退订", sign="龙井茶庄", marketing=True) == "【别的】回T退订"


def test_email_html_is_sanitised_and_inlined():
    html = ("<html><head><style>p{color:red}</style></head><body>"
            "<p onclick='x()'>你好</p><script>alert(1)</script>"
            "<a href='javascript:alert(1)'>x</a><a href='https://shop.example/a?b=1'>店</a>"
            "</body></html>")
    out = email_html(html)
    assert "script" not in out and "onclick" not in out and "javascript" not in out
    assert 'style="color: red;"' in out or "color:red" in out.replace(" ", "")
    assert "https://shop.example/a?b=1" in out.replace("&amp;", "&")
    assert "店 (https://shop.example/a?b=1)" in text_from_html(out.replace("&amp;", "&"))
