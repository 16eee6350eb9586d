"""The demo's messaging (the demo command loads it once): every channel on the log-only
provider (nothing leaves the machine), templates in Chinese and English, the automations
that send them — a welcome series, a birthday greeting (solar or lunar, as each customer
keeps it), Spring Festival and Mid-Autumn greetings, a dormant win-back with a holdout —
and a draft A/B campaign with a holdout for a demo segment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from guanxi.analytics.models import Segment
from guanxi.automation.models import Automation
from guanxi.automation.services import automation_publish, automation_save
from guanxi.core.permissions import Actor
from guanxi.engagement.campaigns import VariantInput, campaign_save
from guanxi.engagement.models import Campaign, ChannelSetup, MessageChannel, Template
from guanxi.engagement.services import TextInput, channel_setup_save, template_save

SHOP = "https://shop.example.com"

# name, channel, purpose, {language: (subject, body, html)}
TEMPLATES: list[tuple[str, str, str, dict[str, tuple[str, str, str]]]] = [
    ("欢迎 1 · Welcome 1", "email", "marketing", {
        "zh-hans": ("欢迎来到{{ business.name }}",
                    "{{ customer.salutation }}，您好！\n\n欢迎加入{{ business.name }}。"
                    "新人专享：首单满 199 元减 30 元。\n" + SHOP + "/new\n\n"
                    "退订：{{ unsubscribe_url }}",
                    "<p>{{ customer.salutation }}，您好！</p><p>欢迎加入{{ business.name }}。"
                    "新人专享：<strong>首单满 199 元减 30 元</strong>。</p>"
                    f'<p><a href="{SHOP}/new">去看看</a></p>'),
        "en": ("Welcome to {{ business.name }}",
               "Hello {{ customer.name }},\n\nWelcome to {{ business.name }}. Your first "
               "order over ¥199 is ¥30 off.\n" + SHOP + "/new\n\n"
               "Unsubscribe: {{ unsubscribe_url }}",
               "<p>Hello {{ customer.name }},</p><p>Welcome to {{ business.name }}. Your "
               "first order over ¥199 is <strong>¥30 off</strong>.</p>"
               f'<p><a href="{SHOP}/new">Have a look</a></p>')}),
    ("欢迎 2 · Welcome 2", "email", "marketing", {
        "zh-hans": ("三分钟泡好一杯龙井",
                    "{{ customer.salutation }}，您好！\n\n水温 80℃，投茶 3 克，"
                    "先润茶再冲泡。更多冲泡指南：" + SHOP + "/guide",
                    "<p>{{ customer.salutation }}，您好！</p><p>水温 80℃，投茶 3 克，"
                    "先润茶再冲泡。</p>"
                    f'<p><a href="{SHOP}/guide">更多冲泡指南</a></p>'),
        "en": ("A cup of Longjing in three minutes",
               "Hello {{ customer.name }},\n\nWater at 80°C, 3 g of leaves, rinse once, "
               "then brew. More in our guide: " + SHOP + "/guide",
               "<p>Hello {{ customer.name }},</p><p>Water at 80°C, 3 g of leaves, rinse "
               f'once, then brew.</p><p><a href="{SHOP}/guide">Read the guide</a></p>')}),
    ("生日祝福 · Birthday", "sms", "marketing", {
        "zh-hans": ("", "{{ customer.salutation }}，生日快乐！送您一张 50 元生日券，"
                        "本月有效。", ""),
        "en": ("", "Happy birthday, {{ customer.name }}! A ¥50 birthday coupon is yours "
                   "this month.", "")}),
    ("春节问候 · Spring Festival", "sms", "marketing", {
        "zh-hans": ("", "{{ customer.salutation }}，新春快乐，万事如意！"
                        "{{ business.name }}给您拜年了。", ""),
        "en": ("", "Happy Chinese New Year, {{ customer.name }}! Best wishes from "
                   "{{ business.name }}.", "")}),
    ("中秋问候 · Mid-Autumn", "email", "marketing", {
        "zh-hans": ("花好月圆，中秋快乐",
                    "{{ customer.salutation }}，中秋快乐！月饼配好茶：" + SHOP + "/mid-autumn",
                    "<p>{{ customer.salutation }}，中秋快乐！</p>"
                    f'<p>月饼配好茶：<a href="{SHOP}/mid-autumn">中秋礼盒</a></p>'),
        "en": ("Happy Mid-Autumn Festival",
               "Happy Mid-Autumn Festival, {{ customer.name }}! Tea for the mooncakes: "
               + SHOP + "/mid-autumn",
               "<p>Happy Mid-Autumn Festival, {{ customer.name }}!</p>"
               f'<p>Tea for the mooncakes: <a href="{SHOP}/mid-autumn">gift boxes</a></p>')}),
    ("好久不见 · Win-back", "email", "marketing", {
        "zh-hans": ("好久不见，送您一份回归礼",
                    "{{ customer.salutation }}，好久不见！回归礼：任意订单 8 折，14 天内有效。"
                    + SHOP + "/welcome-back",
                    "<p>{{ customer.salutation }}，好久不见！</p><p>回归礼：<strong>任意订单 8 折"
                    f'</strong>，14 天内有效。</p><p><a href="{SHOP}/welcome-back">去选购</a></p>'),
        "en": ("We miss you: a welcome-back gift",
               "Hello {{ customer.name }}, it has been a while! 20% off any order for the "
               "next 14 days: " + SHOP + "/welcome-back",
               "<p>Hello {{ customer.name }}, it has been a while!</p><p><strong>20% off"
               "</strong> any order for the next 14 days.</p>"
               f'<p><a href="{SHOP}/welcome-back">Shop now</a></p>')}),
    ("中秋礼盒 A · Gift box A", "email", "marketing", {
        "zh-hans": ("中秋礼盒上新", "{{ customer.salutation }}，中秋礼盒上新：" + SHOP + "/box",
                    "<p>{{ customer.salutation }}，中秋礼盒上新。</p>"
                    f'<p><a href="{SHOP}/box">看看礼盒</a></p>'),
        "en": ("New Mid-Autumn gift boxes", "Hello {{ customer.name }}, our gift boxes are "
               "here: " + SHOP + "/box", "<p>Hello {{ customer.name }}, our gift boxes are "
               f'here.</p><p><a href="{SHOP}/box">See the boxes</a></p>')}),
    ("中秋礼盒 B · Gift box B", "email", "marketing", {
        "zh-hans": ("老客专享：礼盒第二件半价",
                    "{{ customer.salutation }}，老客专享：中秋礼盒第二件半价。" + SHOP + "/box",
                    "<p>{{ customer.salutation }}，老客专享：<strong>第二件半价</strong>。</p>"
                    f'<p><a href="{SHOP}/box">立即选购</a></p>'),
        "en": ("For regulars: the second gift box half price",
               "Hello {{ customer.name }}, the second gift box is half price for you: "
               + SHOP + "/box", "<p>Hello {{ customer.name }}, the second gift box is "
               f'<strong>half price</strong> for you.</p><p><a href="{SHOP}/box">Shop now'
               "</a></p>")}),
]


def _send(step_id: str, template: Template) -> dict[str, Any]:
    return {"id": step_id, "type": "action", "action": "engagement.send_message",
            "config": {"template": str(template.pk)}}


def _automations(t: dict[str, Template]) -> list[dict[str, Any]]:
    bought_recently = {"field": "event", "operator": "within_days",
                       "value": {"kind": "order_placed", "days": 14}}
    return [
        {"name": _("Welcome emails"), "trigger": "timeline.event",
         "trigger_config": {"kind": "customer_created"},
         "description": _("A welcome email with the first-order offer, then a brewing "
                          "guide three days later at 10:00 on a working day."),
         "steps": [_send("welcome", t["欢迎 1 · Welcome 1"]),
                   {"id": "wait", "type": "wait", "days": 3},
                   {"id": "morning", "type": "wait", "until": "time", "time": "10:00",
                    "workday": True},
                   _send("guide", t["欢迎 2 · Welcome 2"])]},
        {"name": _("Birthday wishes by SMS"), "trigger": "automation.date",
         "trigger_config": {"date": "birthday", "time": "09:00"}, "reentry": "always",
         "description": _("An SMS with the birthday coupon on each customer's birthday — "
                          "the lunar date for those who keep it — at 9:00."),
         "steps": [_send("greet", t["生日祝福 · Birthday"])]},
        {"name": _("Spring Festival greeting"), "trigger": "automation.date",
         "trigger_config": {"date": "festival", "festival": "spring_festival",
                            "time": "10:00"}, "reentry": "always",
         "description": _("New Year wishes by SMS on the first day of the lunar year."),
         "steps": [_send("greet", t["春节问候 · Spring Festival"])]},
        {"name": _("Mid-Autumn greeting"), "trigger": "automation.date",
         "trigger_config": {"date": "festival", "festival": "mid_autumn", "time": "10:00"},
         "reentry": "always",
         "description": _("Mid-Autumn wishes by email with the gift boxes, on the 15th of "
                          "the eighth lunar month."),
         "steps": [_send("greet", t["中秋问候 · Mid-Autumn"])]},
        {"name": _("Win-back email"), "trigger": "timeline.event",
         "trigger_config": {"kind": "stage_changed",
                            "conditions": [{"field": "to", "operator": "equals",
                                            "value": "dormant"}]},
         "goal": bought_recently, "reentry": "after", "reentry_days": 90,
         "description": _("When a customer turns dormant: a welcome-back offer by email, one "
                          "in ten held out to measure it; a reminder a week later unless "
                          "they have bought."),
         "steps": [{"id": "split", "type": "split", "paths": [{"percent": 90}]},
                   _send("offer", t["好久不见 · Win-back"]),
                   {"id": "wait", "type": "wait_event", "kind": "order_placed", "days": 7,
                    "timeout": "note"},
                   {"id": "done", "type": "exit"},
                   {"id": "note", "type": "action", "action": "automation.log_note",
                    "config": {"text": _("No order a week after the win-back email.")}}]},
    ]


def demo_engagement(*, actor: Actor) -> dict[str, int]:
    """Set up the channels (when not set up yet), the templates, automations and the
    campaign (those of a name that exists are left). Returns what was made."""
    made = {"channels": 0, "templates": 0, "automations": 0, "campaigns": 0}
    for channel in MessageChannel.values:
        if not ChannelSetup.objects.filter(channel=channel).exists():
            config = {"sign": settings.GUANXI_BUSINESS_NAME} if channel == "sms" else {}
            channel_setup_save(actor=actor, channel=channel, provider_name="log",
                               config=config)
            made["channels"] += 1
    templates: dict[str, Template] = {}
    for name, channel, purpose, texts in TEMPLATES:
        found = Template.objects.filter(name=name).first()
        if found is None:
            found = template_save(actor=actor, name=name, channel=channel, purpose=purpose,
                                  texts=[TextInput(lang, body, subject=subject, html=html)
                                         for lang, (subject, body, html) in texts.items()])
            made["templates"] += 1
        templates[name] = found
    for definition in _automations(templates):
        if Automation.objects.filter(name=definition["name"]).exists():
            continue
        automation = automation_save(actor=actor, **definition)
        automation_publish(actor=actor, automation=automation)
        made["automations"] += 1
    name = _("Mid-Autumn gift boxes: which offer works")
    segment = (Segment.objects.filter(name__startswith="近90天买过茶叶").first()
               or Segment.objects.order_by("pk").first())
    if segment is not None and not Campaign.objects.filter(name=name).exists():
        campaign_save(actor=actor, name=name, segment_id=segment.pk, holdout_percent=10,
                      winner_metric="click", test_percent=30, winner_after_hours=4,
                      variants=[VariantInput(templates["中秋礼盒 A · Gift box A"].pk, 50),
                                VariantInput(templates["中秋礼盒 B · Gift box B"].pk, 50)])
        made["campaigns"] += 1
    return made
