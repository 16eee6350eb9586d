"""Segment rules: a JSON tree of AND/OR groups over attributes, tags, scores and behaviour,
validated with errors that name the rule, and compiled to one database query.

    {"op": "and", "rules": [
        {"field": "stage", "operator": "in", "value": ["dormant", "churned"]},
        {"field": "tier", "operator": "equals", "value": "important_value"},
        {"op": "or", "rules": [
            {"field": "bought_category", "operator": "within_days",
             "value": {"category": "茶叶", "days": 90}},
            {"field": "event", "operator": "within_days",
             "value": {"kind": "email_opened", "days": 30}}]}]}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import FieldError, InvalidInput
from guanxi.customers.models import CustomerTag, Event, OrderLine, OrderStatus

TEXT_FIELDS = {"region": "region", "gender": "gender", "source": "source",
               "occupation": "occupation", "preferred_channel": "preferred_channel",
               "stage": "score__stage", "tier": "score__tier", "cell": "score__cell"}
NUMBER_FIELDS = {"r": "score__r", "f": "score__f", "m": "score__m",
                 "recency_days": "score__recency_days", "frequency": "score__frequency",
                 "monetary": "score__monetary", "clv": "score__clv",
                 "p_alive": "score__p_alive", "churn_risk": "score__churn_risk"}
TEXT_OPERATORS = ("equals", "not_equals", "in", "contains")
NUMBER_OPERATORS = ("gte", "lte", "equals")
MAX_DEPTH = 5
MAX_RULES = 50


MAX_TEXT = 200
MAX_NUMBER = 1e12


def _choices() -> dict[str, set[str]]:
    """The values a coded field can hold: anything else would silently match no one."""
    from guanxi.analytics.models import Cell, Stage, Tier
    from guanxi.customers.models import Channel, Gender, Source

    return {"stage": set(Stage.values), "tier": set(Tier.values), "cell": set(Cell.values),
            "gender": set(Gender.values), "source": set(Source.values),
            "preferred_channel": set(Channel.values)}


def _text_value(field: str, value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidInput.single(where, _("Give a text of at most %(n)s characters")
                                  % {"n": MAX_TEXT}, value)
    allowed = _choices().get(field)
    if allowed is not None and value not in allowed:
        raise InvalidInput.single(where, _("Choose one of: %(choices)s")
                                  % {"choices": ", ".join(sorted(v for v in allowed if v))},
                                  value)
    return value


def _keys(tree: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(tree) - allowed)
    if extra:
        raise InvalidInput.single(f"{where}.{extra[0]}", _("Unknown key"), extra[0])


def _region(value: str) -> Q:
    """A region rule means every spelling: 杭州, 浙江省杭州市 and Hangzhou are one code."""
    from guanxi.customers.regions import prefix, region_code

    code = region_code(value)
    return Q(region_code__startswith=prefix(code)) if code else Q(region=value)


def _text(path: str, operator: str, value: Any) -> Q:
    if path == "region" and operator in ("equals", "not_equals", "in"):
        q = Q()
        for one in (list(value) if operator == "in" else [value]):
            q |= _region(one)
        return ~q if operator == "not_equals" else q
    if operator == "equals":
        return Q(**{path: value})
    if operator == "not_equals":
        return ~Q(**{path: value})
    if operator == "in":
        return Q(**{f"{path}__in": list(value)})
    return Q(**{f"{path}__icontains": value})


def _since(days: Any, where: str) -> dt.datetime:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise InvalidInput.single(f"{where}.value.days", _("Days must be 1 to 3650"), days)
    return timezone.now() - dt.timedelta(days=days)


def compile_rules(tree: Any, where: str = "rules", depth: int = 0) -> Q:
    """The Q over Customer that a rule tree means; InvalidInput names the bad rule."""
    if not isinstance(tree, dict):
        raise InvalidInput.single(where, _("A rule or group must be an object"), tree)
    if "op" in tree:
        _keys(tree, {"op", "rules"}, where)
        if tree["op"] not in ("and", "or"):
            raise InvalidInput.single(f"{where}.op", _("A group is 'and' or 'or'"), tree["op"])
        rules = tree.get("rules")
        if not isinstance(rules, list) or not rules:
            raise InvalidInput.single(f"{where}.rules", _("A group needs at least one rule"))
        if depth >= MAX_DEPTH or len(rules) > MAX_RULES:
            raise InvalidInput.single(where, _("Too many rules or groups nested too deep"))
        parts = [compile_rules(r, f"{where}.rules.{i}", depth + 1) for i, r in enumerate(rules)]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if tree["op"] == "and" else combined | part
        return combined
    _keys(tree, {"field", "operator", "value"}, where)
    field, operator, value = tree.get("field"), tree.get("operator"), tree.get("value")
    if field in TEXT_FIELDS:
        if operator not in TEXT_OPERATORS:
            raise InvalidInput.single(f"{where}.operator", _("Choose one of: %(choices)s")
                                      % {"choices": ", ".join(TEXT_OPERATORS)}, operator)
        if operator == "in":
            if not (isinstance(value, list) and 1 <= len(value) <= MAX_RULES):
                raise InvalidInput.single(f"{where}.value", _("Give a list of 1 to %(n)s "
                                                              "values") % {"n": MAX_RULES},
                                          value)
            value = [_text_value(field, v, f"{where}.value.{i}") for i, v in enumerate(value)]
        elif operator == "contains":
            value = _text_value("", value, f"{where}.value")
        else:
            value = _text_value(field, value, f"{where}.value")
        return _text(TEXT_FIELDS[field], operator, value)
    if field in NUMBER_FIELDS:
        if operator not in NUMBER_OPERATORS:
            raise InvalidInput.single(f"{where}.operator", _("Choose one of: %(choices)s")
                                      % {"choices": ", ".join(NUMBER_OPERATORS)}, operator)
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not abs(value) <= MAX_NUMBER):  # also NaN
            raise InvalidInput.single(f"{where}.value", _("Give a number between -%(n)s and "
                                                          "%(n)s") % {"n": f"{MAX_NUMBER:.0e}"},
                                      value)
        path = NUMBER_FIELDS[field]
        return Q(**{path if operator == "equals" else f"{path}__{operator}": value})
    if field == "tag":
        if not isinstance(value, str) or not 1 <= len(value) <= 50:
            raise InvalidInput.single(f"{where}.value", _("Give a tag name"), value)
        has = Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag__name=value))
        if operator not in ("has", "not_has"):
            raise InvalidInput.single(f"{where}.operator", _("Choose has or not_has"), operator)
        return Q(has) if operator == "has" else ~Q(has)
    if field in ("bought_category", "event"):
        if operator != "within_days" or not isinstance(value, dict):
            raise InvalidInput.single(f"{where}.value", _("Give the days, and the category "
                                                          "or event kind"), value)
        since = _since(value.get("days"), where)
        name = "category" if field == "bought_category" else "kind"
        _keys(value, {"days", name}, f"{where}.value")
        if not isinstance(value.get(name), str) or not 1 <= len(value[name]) <= MAX_TEXT:
            raise InvalidInput.single(f"{where}.value.{name}", _("Give a text of at most "
                                                                 "%(n)s characters")
                                      % {"n": MAX_TEXT}, value.get(name))
        if field == "bought_category":
            lines = OrderLine.objects.filter(
                order__customer=OuterRef("pk"), order__status=OrderStatus.PAID,
                order__placed_at__gte=since, product__category=value.get("category", ""))
            return Q(Exists(lines))
        events = Event.objects.filter(customer=OuterRef("pk"), kind=value.get("kind", ""),
                                      occurred_at__gte=since)
        return Q(Exists(events))
    raise InvalidInput([FieldError(f"{where}.field", _("Unknown field"), field)])

