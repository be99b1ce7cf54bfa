from django import template

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
    return {"met": "Covered", "listed": "Only listed", "missed": "Missed"}.get(status, status)
