"""Words of Chinese and English text for classification, search and survey themes:
jieba cuts Chinese (its dictionary loads once per process, about a second), English is
lower-cased; punctuation, spaces and stop words are dropped."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_lock = threading.Lock()
_WORD = re.compile(r"\w", re.UNICODE)
_STOP_WORDS = """
的 了 和 是 在 我 我们 你 你们 他 她 它 吗 呢 吧 啊 呀 也 就 都 还 又 这 那 这个 那个 有 没
个 把 被 给 让 对 与 及 或 之 着 过 请 一下 一个 什么 怎么 如何 为什么 可以 能 会 要 想
a an the is are was were be been to of in on at for and or but if it its this that these
those i me my we our you your he she they them do does did how what why when where which
who can could would should will shall may might with from by as not no yes please"""
STOP = frozenset(_STOP_WORDS.split())


@lru_cache(maxsize=1)
def _jieba() -> object:
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


def words(text: str, *, keep_stop: bool = False) -> list[str]:
    """The words of `text`, lower-cased, in order."""
    jieba = _jieba()
    out = []
    for w in jieba.lcut(text.lower()):  # type: ignore[attr-defined]
        w = w.strip()
        if not w or not _WORD.search(w):
            continue
        if not keep_stop and w in STOP:
            continue
        out.append(w)
    return out
