"""Template texts rendered in a sandbox: variables (`{{ customer.salutation }}`), simple
conditions (`{% if customer.city %}…{% else %}…{% endif %}`, with `and`, `or`, `not`,
comparisons) and the `default` filter — nothing else: no loops, no calls, no includes,
no attribute beyond the variables listed in VARIABLES. Jinja2's SandboxedEnvironment runs
it; the parsed template is checked against a whitelist of node types first, so a
template that asks for more is refused when it is saved, with the line.

Also: the Chinese salutation, SMS segment counting, and the HTML of an email (sanitised
with nh3, CSS inlined with css-inline, a text part)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

# The variables a template may use, with what they mean (shown by the editor).
VARIABLES: dict[str, Any] = {
    "customer.salutation": gettext_lazy("How to address the customer: 张先生 / 王女士, or "
                                        "the full name when the gender is unknown"),
    "customer.name": gettext_lazy("Full name"),
    "customer.family_name": gettext_lazy("Family name"),
    "customer.given_name": gettext_lazy("Given name"),
    "customer.region": gettext_lazy("Region"),
    "customer.id": gettext_lazy("Customer number"),
    "business.name": gettext_lazy("The business's name"),
    "unsubscribe_url": gettext_lazy("Link to unsubscribe (email)"),
}
_ROOTS = {name.split(".")[0] for name in VARIABLES}
# Variables other apps add (loyalty's member and coupon): root -> provider(customer).
_PROVIDERS: dict[str, Callable[[Any], Mapping[str, Any]]] = {}


def register_variables(root: str, variables: Mapping[str, Any],
                       provider: Callable[[Any], Mapping[str, Any]]) -> None:
    """Let templates use `root.*`: `variables` names each with what it means (shown by
    the editor); `provider(customer)` gives their values when a message is rendered."""
    VARIABLES.update(variables)
    _ROOTS.add(root)
    _PROVIDERS[root] = provider


def extra_context(customer: Any, sources: Iterable[str]) -> dict[str, Any]:
    """The registered variables that these template texts use, for this customer."""
    text = "\n".join(sources)
    return {root: provider(customer) for root, provider in _PROVIDERS.items()
            if root in text}
_ALLOWED = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr,
            nodes.Const, nodes.If, nodes.Compare, nodes.Operand, nodes.Not, nodes.And,
            nodes.Or, nodes.CondExpr, nodes.Filter)
_FILTERS = {"default"}


class TemplateError(ValueError):
    """A template text that may not be used: `line` (1-based, 0 when unknown), `reason`."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _env(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=html, undefined=ChainableUndefined,
                                keep_trailing_newline=True)


_TEXT = _env(False)
_HTML = _env(True)


def check(source: str) -> None:
    """Raise TemplateError unless `source` uses only variables and simple conditions."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_("Template syntax: %(error)s") % {"error": exc.message},
                            exc.lineno) from exc
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED):
            raise TemplateError(_("Only variables and if/else may be used here, not "
                                  "“%(what)s”") % {"what": type(node).__name__},
                                getattr(node, "lineno", 0))
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise TemplateError(_("Unknown filter “%(name)s” (only “default”)")
                                % {"name": node.name}, node.lineno)
        if isinstance(node, nodes.Name) and node.name not in _ROOTS:
            raise TemplateError(_("Unknown variable “%(name)s”") % {"name": node.name},
                                node.lineno)
        if isinstance(node, nodes.Getattr):
            root = node.node.name if isinstance(node.node, nodes.Name) else "…"
            full = f"{root}.{node.attr}"
            if full not in VARIABLES:
                raise TemplateError(_("Unknown variable “%(name)s”") % {"name": full},
                                    node.lineno)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Any:
    """A checked, compiled template (a campaign renders the same few for everyone)."""
    check(source)
    return (_HTML if html else _TEXT).from_string(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    return str(_compiled(source, html).render(**context))


# --- the customer as templates see it ---------------------------------------------------

def salutation(*, family_name: str, given_name: str, full_name: str, gender: str,
               language: str) -> str:
    """张先生 / 王女士; Mr Smith / Ms Smith; the full name when the gender or the family
    name is unknown."""
    if not family_name or gender not in ("male", "female"):
        return full_name
    if language.startswith("zh"):
        return family_name + ("先生" if gender == "male" else "女士")
    with override(language):
        title = _("Mr") if gender == "male" else _("Ms")
    return f"{title} {family_name}"


def customer_context(customer: Any, language: str) -> dict[str, Any]:
    name = customer.display_name or f"{customer.family_name}{customer.given_name}"
    return {"id": customer.pk, "name": name, "family_name": customer.family_name,
            "given_name": customer.given_name, "region": customer.region,
            "salutation": salutation(family_name=customer.family_name,
                                     given_name=customer.given_name, full_name=name,
                                     gender=customer.gender, language=language)}


# --- SMS --------------------------------------------------------------------------------

_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO"
           "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = set("^{}\\[~]|€")


def sms_segments(text: str) -> tuple[int, int]:
    """(characters as counted, segments). Text with any character outside the GSM 03.38
    alphabet (Chinese) is sent as UCS-2: 70 characters in one message, 67 per segment
    when it is split; GSM text 160, then 153 per segment (^{}[]~|€\\ count twice)."""
    if all(c in _GSM or c in _GSM_EXT for c in text):
        n = sum(2 if c in _GSM_EXT else 1 for c in text)
        single, part = 160, 153
    else:
        n = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
        single, part = 70, 67
    if n == 0:
        return 0, 0
    return n, 1 if n <= single else math.ceil(n / part)


def sms_text(body: str, *, sign: str, marketing: bool) -> str:
    """The SMS as the phone shows it: 【sign】 first; marketing ends with how to unsubscribe
    (Chinese carriers require it: 回T退订)."""
    text = body.strip()
    if sign and not text.startswith("【"):
        text = f"【{sign}】{text}"
    if marketing and not re.search(r"退订|STOP", text):
        text = f"{text} 回T退订"
    return text


# --- email HTML -------------------------------------------------------------------------

_TAGS = {"a", "b", "blockquote", "br", "caption", "center", "code", "div", "em", "font",
         "h1", "h2", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small",
         "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
         "tr", "u", "ul", "style", "html", "head", "body", "title"}
_ATTRIBUTES = {"*": {"style", "class", "align", "width", "height", "bgcolor", "color",
                     "border", "cellpadding", "cellspacing", "valign", "dir", "lang"},
               "a": {"href", "title", "target"}, "img": {"src", "alt", "title"}}


def email_html(html: str) -> str:
    """Sanitised (no scripts, forms, event handlers or javascript: links) with the CSS
    inlined, as mail programs show only inline styles reliably."""
    import css_inline
    import nh3

    clean = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None,
                      url_schemes={"http", "https", "mailto", "tel"},
                      clean_content_tags={"script"}, strip_comments=True)
    return str(css_inline.inline(clean))


def text_from_html(html: str) -> str:
    """A readable plain-text part from the HTML (links kept as "text (url)")."""
    import html as htmllib

    text = re.sub(r"<a [^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", r"\2 (\1)", html,
                  flags=re.S | re.I)
    text = re.sub(r"<(br|/p|/div|/h\d|/li|/tr)[^>]*>", "\n", text, flags=re.I)
    text = re.sub(r"<(style|head)[^>]*>.*?</\1>", "", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", "", text)
    lines = [line.strip() for line in htmllib.unescape(text).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
