from django import template

from guanxi.timeline.kinds import kind_label, render_summary

register = template.Library()


@register.filter
def event_label(kind: str) -> str:
    return kind_label(kind)


@register.filter
def event_summary(event) -> str:
    """The event's summary line in the reader's language (from its data)."""
    return render_summary(event)


@register.filter
def channel_label(value: str) -> str:
    """A known channel in the reader's language; another system's own word as sent."""
    from guanxi.customers.models import Channel, SalesChannel

    for choices in (SalesChannel, Channel):
        if value in choices.values:
            return str(choices(value).label)
    return value


@register.filter
def contact(identity) -> str:
    """An identity's value as people write it: 138 0013 8000, +49 1512 3456789."""
    from guanxi.customers.normalize import format_phone

    value = identity.value
    if identity.kind == "phone" and "*" not in value:
        return format_phone(value)
    return value


@register.filter
def customer_field_label(name: str) -> str:
    """A customer field's name in the reader's language."""
    from django.core.exceptions import FieldDoesNotExist

    from guanxi.customers.models import Customer

    try:
        return str(getattr(Customer._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name
