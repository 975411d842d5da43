"""Template helpers for forum pages and the app page's extension point."""
from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from community import permissions as perms
from community import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def app_forum(context, app):
    request = context.get("request")
    return selectors.app_forum(app=app, user=getattr(request, "user", None))


@register.filter
def unread_state(thread) -> str:
    return selectors.unread_state(thread)


@register.filter
def search_snippet(text: str) -> str:
    """Escape first, then turn the search engine's [[ ]] markers into <mark>."""
    return mark_safe(escape(text or "").replace("[[", "<mark>").replace("]]", "</mark>"))  # noqa: S308


@register.simple_tag
def can(action: str, user, obj) -> bool:
    return bool(getattr(perms, f"can_{action}")(user, obj))
