from django import template

from guanxi.customers.events import kind_label

register = template.Library()


@register.filter
def event_label(kind: str) -> str:
    return kind_label(kind)
