"""Category, priority and "is this a complaint" for a new ticket, from its text.

Until the desk has MIN_TICKETS solved tickets with a category, keyword rules decide: a
category's own keywords (set by the business), and built-in complaint and urgency words
in Chinese and English. Then `train()` fits, on the desk's own tickets (an agent's
correction included: it is what the ticket ends with), one TF-IDF + linear model per
target over jieba words and character n-grams, and keeps the held-out scores; the rules
still decide a target the model has too few examples of."""

from __future__ import annotations

import pickle
import random
from dataclasses import dataclass
from typing import Any

from guanxi.servicedesk.text import words

MIN_TICKETS = 60
COMPLAINT_WORDS = ("投诉", "差评", "欺骗", "骗子", "骗人", "态度差", "态度恶劣", "太差", "垃圾",
                   "生气", "愤怒", "不满", "失望", "维权", "12315", "消协", "曝光", "赔偿",
                   "complaint", "complain", "unacceptable", "terrible", "disappointed",
                   "angry", "worst", "scam", "compensation", "furious", "awful")
URGENT_WORDS = ("紧急", "十万火急", "立刻", "马上", "urgent", "asap", "immediately",
                "emergency")
HIGH_WORDS = ("无法使用", "用不了", "不能用", "坏了", "故障", "退款", "尽快", "收不到",
              "打不开", "broken", "refund", "not working", "cannot", "can't", "down",
              "outage")


@dataclass(frozen=True)
class Prediction:
    category_id: int | None
    priority: str
    complaint: bool
    source: str  # "rules" or "model"


def _has(text: str, vocabulary: tuple[str, ...]) -> bool:
    return any(w in text for w in vocabulary)


def rules(text: str, categories: list[tuple[int, list[str]]]) -> Prediction:
    """The keyword rules: the category with the most keyword hits (ties: the first)."""
    lower = text.lower()
    best, hits = None, 0
    for pk, keywords in categories:
        n = sum(1 for k in keywords if k and k.lower() in lower)
        if n > hits:
            best, hits = pk, n
    complaint = _has(lower, COMPLAINT_WORDS)
    if _has(lower, URGENT_WORDS):
        priority = "urgent"
    elif _has(lower, HIGH_WORDS) or complaint:
        priority = "high"
    else:
        priority = "normal"
    return Prediction(best, priority, complaint, "rules")


# --- the trained model ------------------------------------------------------------------

def _analyzer(text: str) -> list[str]:
    return words(text)


def make_pipeline() -> Any:
    """Words (jieba) and character 1–3-grams, TF-IDF weighted, into a linear SVM."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        FeatureUnion([
            ("words", TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3),
                                      sublinear_tf=True, min_df=2, max_features=200_000)),
        ]),
        LinearSVC(C=0.5, class_weight="balanced"))


def fit(texts: list[str], labels: list[str]) -> Any:
    model = make_pipeline()
    model.fit(texts, labels)
    return model


def _held_out(texts: list[str], labels: list[str], seed: int = 7) -> dict[str, float]:
    """Accuracy (and precision/recall of "yes" for a yes/no target) on a fifth held out."""
    idx = list(range(len(texts)))
    random.Random(seed).shuffle(idx)
    cut = max(1, len(idx) // 5)
    test, train = idx[:cut], idx[cut:]
    if len({labels[i] for i in train}) < 2:
        return {}
    model = fit([texts[i] for i in train], [labels[i] for i in train])
    got = list(model.predict([texts[i] for i in test]))
    want = [labels[i] for i in test]
    scores = {"accuracy": sum(g == w for g, w in zip(got, want, strict=True)) / len(test),
              "held_out": float(len(test))}
    if set(labels) <= {"yes", "no"}:
        tp = sum(g == w == "yes" for g, w in zip(got, want, strict=True))
        scores["precision"] = tp / max(1, sum(g == "yes" for g in got))
        scores["recall"] = tp / max(1, sum(w == "yes" for w in want))
    return scores


def train(rows: list[tuple[str, str, str, bool]]) -> tuple[bytes, dict[str, Any]]:
    """Fit the models on (text, category id, priority, complaint) rows; returns the pickled
    models and their held-out scores. A target with fewer than two classes is left to the
    rules."""
    texts = [r[0] for r in rows]
    targets = {"category": [r[1] for r in rows], "priority": [r[2] for r in rows],
               "complaint": ["yes" if r[3] else "no" for r in rows]}
    models: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    for name, labels in targets.items():
        usable = [(t, label) for t, label in zip(texts, labels, strict=True) if label]
        if len({label for _t, label in usable}) < 2:
            continue
        xs, ys = [t for t, _l in usable], [label for _t, label in usable]
        scores[name] = _held_out(xs, ys)
        models[name] = fit(xs, ys)
    return pickle.dumps(models), scores


def predict(models: dict[str, Any], text: str, fallback: Prediction) -> Prediction:
    got = {name: str(model.predict([text])[0]) for name, model in models.items()}
    category = got.get("category")
    return Prediction(int(category) if category else fallback.category_id,
                      got.get("priority", fallback.priority),
                      got["complaint"] == "yes" if "complaint" in got else fallback.complaint,
                      "model")
