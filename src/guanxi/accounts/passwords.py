"""Password strength: zxcvbn's estimate of how many guesses a password takes, offline,
with the patterns Chinese passwords are made of added to its dictionaries (pinyin
surnames and given names and their combinations, 5201314-style numbers, place names),
and the user's own details."""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn

# The most common Chinese surnames and given-name characters (their pinyin is taken), and
# words and numbers Chinese users build passwords from.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
             "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹"
             "薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳上官司马诸葛")
_GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰华飞玉红鹏辉文斌宇浩凯健俊帆帅"
          "旭宁欣婷雪琳晨阳龙波亮梅琴云莉燕峰建国志新春海萍佳慧鑫博涵子轩然怡")
_WORDS = ("woaini", "aini", "5201314", "1314", "520", "1314520", "baobao", "laopo", "laogong",
          "nihao", "zhongguo", "china", "beijing", "shanghai", "guangzhou", "shenzhen",
          "hangzhou", "chengdu", "wuhan", "nanjing", "tianjin", "xian", "qq", "weixin",
          "taobao", "guanxi", "kehu", "mima", "admin", "crm", "888888", "666666", "168168",
          "123456", "123123", "147258", "159357", "iloveyou")


@functools.cache
def chinese_words() -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    surnames = sorted(set(lazy_pinyin(_SURNAMES)))
    given = sorted(set(lazy_pinyin(_GIVEN)))
    names = [s + g for s in surnames for g in given]
    names += [g1 + g2 for g1 in given for g2 in given]
    return (*_WORDS, *surnames, *given, *names)


class StrengthValidator:
    """Refuses a password zxcvbn can guess in fewer than 10^8 tries (score below
    `min_score`, 3 by default), saying why."""

    def __init__(self, min_score: int = 3) -> None:
        self.min_score = min_score

    def validate(self, password: str, user: Any = None) -> None:
        inputs = [str(getattr(user, f, "") or "") for f in
                  ("username", "first_name", "last_name", "email")] if user else []
        inputs += [part for value in inputs for part in value.replace("@", " ").split()]
        result = zxcvbn(password[:100], user_inputs=[*(i for i in inputs if i),
                                                       *chinese_words()])
        if result["score"] < self.min_score:
            raise ValidationError(
                _("This password is too easy to guess: it is built from names, dates, "
                  "common words or patterns. Use a longer phrase of unrelated words, or "
                  "more random characters."), code="password_too_weak")

    def get_help_text(self) -> str:
        return _("Your password must be hard to guess: no names, birthdays or common "
                 "patterns.")
