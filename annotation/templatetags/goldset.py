"""Template filters shared by goldset's pages.

`markdown` renders lead-written guidelines: Markdown → HTML → `nh3.clean`, so a guideline can
never carry script, event handlers or javascript: links. The URL filters let templates show an
item's address safely: only http(s) URLs become links, anything else stays plain escaped text.
"""

from urllib.parse import urlsplit

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()

MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> str:
    """Render Markdown and sanitise the HTML (the only place goldset marks HTML safe)."""
    if not text:
        return ""
    html = markdown_lib.markdown(str(text), extensions=MARKDOWN_EXTENSIONS)
    return mark_safe(nh3.clean(html))  # noqa: S308 (sanitised by nh3 just above)


def _split(url: str):
    try:
        return urlsplit((url or "").strip())
    except ValueError:
        return None


@register.filter
def http_url(url: str | None) -> str:
    """The URL if it is http or https with a host, else "" (templates then show plain text)."""
    parts = _split(url or "")
    if parts is None or parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return ""
    return (url or "").strip()


@register.filter
def url_domain(url: str | None) -> str:
    """The host of a URL without a leading "www." ("" when there is none)."""
    parts = _split(url or "")
    if parts is not None and not parts.scheme and not parts.netloc and parts.path:
        parts = _split("//" + parts.path)  # "example.com/page": a bare domain and path
    if parts is None:
        return ""
    try:
        host = parts.hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")
