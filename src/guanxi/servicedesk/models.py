"""The service desk's tables: tickets and their messages, queues and agents, SLA policies
and the clocks they start, macros, the desk's settings (its business calendar), surveys
(CSAT and NPS) with their invitations and answers, the knowledge base, and the FAQ bot's
conversations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team
from guanxi.customers.models import Customer


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    HOLD = "hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


ACTIVE = (Status.NEW, Status.OPEN, Status.PENDING, Status.HOLD)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    PORTAL = "portal", _("Customer portal")
    API = "api", _("API")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")
    BOT = "bot", _("FAQ bot")
    AGENT = "agent", _("Agent")


class DeskSettings(models.Model):
    """The desk's settings (one row): the business calendar SLA clocks run on, when
    solved tickets close, and what a low survey score is."""

    hours = models.JSONField(_("working hours"), default=dict, blank=True,
                             help_text=_("Weekday (0 = Monday) to working intervals."))
    tz = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    region = models.CharField(_("holiday calendar"), max_length=10, default="CN", blank=True)
    closures = models.JSONField(_("closures"), default=list, blank=True)
    auto_close_days = models.PositiveIntegerField(_("close solved tickets after (days)"),
                                                  default=4)
    low_score = models.PositiveSmallIntegerField(_("low CSAT score (at most)"), default=2)
    complaint_follow_up_days = models.PositiveIntegerField(
        _("follow up complaints after (days)"), default=7)
    max_attachment_mb = models.PositiveIntegerField(_("largest attachment (MB)"), default=10)
    bot_threshold = models.FloatField(_("bot confidence threshold"), default=0.5)
    # the Token set in the WeChat official account's server configuration (服务器配置)
    wechat_token = models.CharField(_("WeChat callback token"), max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("service desk settings")
        verbose_name_plural = _("service desk settings")

    def __str__(self) -> str:
        return f"{self.tz} {self.region}"


class Queue(models.Model):
    """Where tickets wait for an agent: a team's, or a category's."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="ticket_queues")
    skill = models.CharField(_("skill needed"), max_length=40, blank=True)
    # the last agent given a ticket by round robin (the next one gets the next)
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+",
                                      editable=False)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    queue = models.ForeignKey(Queue, verbose_name=_("queue"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="categories")
    # keyword rules, used until a model is trained on the desk's own tickets
    keywords = models.JSONField(_("keywords"), default=list, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """An agent's availability for round robin: off, their load cap, their skills."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="agent_profile")
    available = models.BooleanField(_("available"), default=True)
    load_cap = models.PositiveIntegerField(_("open tickets at most"), default=30)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    queues = models.ManyToManyField(Queue, verbose_name=_("queues"), blank=True,
                                    related_name="agents")

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return str(self.user)


class SubStatus(models.Model):
    """A business's own finer status inside one of the six (e.g. "waiting for parts" in
    On hold)."""

    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("sub-status")
        verbose_name_plural = _("sub-statuses")
        ordering = ["status", "name"]
        constraints = [models.UniqueConstraint(fields=["status", "name"],
                                               name="servicedesk_substatus_unique")]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for the tickets it matches (blank = any): minutes of business time (or of
    the clock, when `business_hours` is off). The most specific match wins, then `order`."""

    name = models.CharField(_("name"), max_length=80)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                blank=True)
    category = models.ForeignKey(Category, verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.CASCADE)
    tier = models.CharField(_("customer tier"), max_length=40, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"),
                                                         default=24 * 60)
    next_response_minutes = models.PositiveIntegerField(_("next response (minutes)"),
                                                        null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"), null=True,
                                                     blank=True)
    warn_minutes = models.PositiveIntegerField(_("warn before a breach (minutes)"),
                                               default=60)
    business_hours = models.BooleanField(_("count business hours only"), default=True)
    escalate_anytime = models.BooleanField(
        _("warn and escalate outside working hours"), default=False)
    order = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    subject = models.CharField(_("subject"), max_length=200)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="tickets")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.NEW)
    sub_status = models.ForeignKey(SubStatus, verbose_name=_("sub-status"), null=True,
                                   blank=True, on_delete=models.SET_NULL)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    category = models.ForeignKey(Category, verbose_name=_("category"), null=True,
                                 blank=True, on_delete=models.SET_NULL)
    is_complaint = models.BooleanField(_("complaint"), default=False)
    # how category, priority and complaint were decided: rules, model or agent (an
    # agent's correction is training data)
    classified_by = models.CharField(max_length=10, default="rules")
    queue = models.ForeignKey(Queue, verbose_name=_("queue"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tickets")
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged")
    # the address replies go to, and the customer's new-customer flag when the sender
    # was unknown
    reply_to = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    portal_key = models.CharField(max_length=32, unique=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["status", "assignee"]),
                   models.Index(fields=["queue", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def classified_by_label(self) -> str:
        return str(CLASSIFIED_BY.get(self.classified_by, self.classified_by))


CLASSIFIED_BY = {"rules": _("keyword rules"), "model": _("the classifier trained on your "
                                                          "tickets"), "agent": _("an agent")}


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Internal note")
    CUSTOMER = "customer", _("From the customer")
    SYSTEM = "system", _("System")


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    body = models.TextField()
    # email threading: this message's Message-ID (an inbound mail's, or the one the
    # outbox gives the reply) and what it answered
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    outbox_message = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.kind}"


class Attachment(models.Model):
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE,
                                related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    def __str__(self) -> str:
        return self.name


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SlaClock(models.Model):
    """One SLA target of one ticket: running until `done_at`; paused while the ticket
    waits for the customer (`paused_at`); `warned_at` / `breached_at` once the scan has
    raised them. Met: done before `due_at` and never breached."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    paused_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # who answered for it (the report's "by agent") and the ticket's team and priority then
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    priority = models.CharField(max_length=10, choices=Priority.choices)

    class Meta:
        indexes = [models.Index(fields=["done_at", "paused_at", "warn_at"]),
                   models.Index(fields=["done_at", "paused_at", "due_at"]),
                   models.Index(fields=["ticket", "metric"])]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.metric}"



class Macro(models.Model):
    """A canned reply with variables ({{ customer.name }}, {{ ticket.id }}, …) that may
    also set the status and the priority."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    body = models.TextField(_("text"))
    set_status = models.CharField(_("then set the status to"), max_length=10,
                                  choices=Status.choices, blank=True)
    set_priority = models.CharField(_("and the priority to"), max_length=10,
                                    choices=Priority.choices, blank=True)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """A note for a member of staff (an SLA warning, a low score on their ticket)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="desk_alerts")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.text



class FollowUpTask(models.Model):
    """A complaint's follow-up a week after it was solved: call the customer back."""


    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="follow_ups")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["ticket"],
                                               name="servicedesk_followup_once")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.due_at:%Y-%m-%d}"



# --- surveys ----------------------------------------------------------------------------

class SurveyKind(models.TextChoices):
    CSAT = "csat", _("CSAT (1–5)")
    NPS = "nps", _("NPS (0–10)")


class Survey(models.Model):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=5, choices=SurveyKind.choices)
    # CSAT: more questions, each scored 1–5 (the first is the CSAT score itself)
    questions = models.JSONField(_("more questions"), default=list, blank=True)
    after_tickets = models.BooleanField(_("send when a ticket is solved"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="survey_invitations")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="invitations")
    key = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    answers = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["survey", "answered_at"])]
        constraints = [models.UniqueConstraint(fields=["survey", "ticket"],
                                               condition=models.Q(ticket__isnull=False),
                                               name="servicedesk_one_invitation_per_ticket")]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.customer_id}"



# --- knowledge base ---------------------------------------------------------------------

class Language(models.TextChoices):
    ZH = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Article(models.Model):
    """A knowledge-base article: the draft being edited here; what customers and the bot
    see is its latest published version."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    category = models.CharField(_("category"), max_length=80, blank=True)
    questions = models.JSONField(_("questions it answers"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ArticleStatus.choices,
                              default=ArticleStatus.DRAFT)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.title


class ArticleVersion(models.Model):

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    questions = models.JSONField(default=list)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # the title's and questions' vectors (kb.version_vectors), float16, filled once
    embedding = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"],
                                               name="servicedesk_article_version")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"



# --- FAQ bot ----------------------------------------------------------------------------

class Conversation(models.Model):

    key = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="bot_conversations")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.key



INTENTS = {"human": _("wants a person"), "complaint": _("complaint")}


class Turn(models.Model):

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="turns")
    question = models.TextField()
    language = models.CharField(max_length=10)
    answer = models.TextField(blank=True)
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    confidence = models.FloatField(default=0.0)
    intent = models.CharField(max_length=20, blank=True)
    marked_wrong = models.BooleanField(default=False)
    # what an agent said the right article was (training data for the bot)
    right_article = models.ForeignKey(Article, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.question[:50]

    @property
    def intent_label(self) -> str:
        return str(INTENTS.get(self.intent, self.intent))

class ClassifierModel(models.Model):
    """The ticket classifier trained on the desk's own solved tickets (a pickled
    scikit-learn pipeline per target), with its held-out scores."""

    trained_at = models.DateTimeField(default=timezone.now)
    tickets = models.PositiveIntegerField()
    blob = models.BinaryField()
    scores = models.JSONField(default=dict)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d %H:%M} ({self.tickets})"

