"""Small template helpers of the version pages (escaped output only)."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.simple_tag
def labels(gold: dict):
    """A gold label as escaped chips: its category names, or "none of these"."""
    if gold.get("none_of_these") and not gold.get("labels"):
        return format_html('<span class="chip none">{}</span>', "none of these")
    chips = format_html_join("", '<span class="chip">{}</span>', ((n,) for n in gold["labels"]))
    if gold.get("none_of_these"):
        chips += format_html('<span class="chip none">{}</span>', "none of these")
    return chips or format_html('<span class="muted">{}</span>', "no label")
