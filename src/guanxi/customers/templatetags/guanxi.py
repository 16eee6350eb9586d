from django import template

from guanxi.customers.events import kind_label

register = template.Library()


@register.filter
def event_label(kind: str) -> str:
    return kind_label(kind)


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
        return str(Customer._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name
