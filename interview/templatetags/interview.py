import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def clock(seconds) -> str:
    """Seconds as m:ss (a timer's face)."""
    if seconds is None or seconds == "":
        return "–"
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@register.filter
def verdict(status: str) -> str:
    return {"met": "Covered", "listed": "Only listed", "almost": "Almost", "missed": "Missed"}.get(status, status)


@register.filter
def inline_code(text: str):
    """Escape text, then show `backticked` spans as code: scenarios are plain text with a little markup."""
    escaped = conditional_escape(text)
    return mark_safe(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", escaped))
