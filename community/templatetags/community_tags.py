"""Template helpers for forum pages and the app page's extension point."""
import re

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
    """Markdown punctuation out, escape, then turn the search engine's [[ ]] markers into <mark>."""
    text = re.sub(r"(\*\*|__|`{1,3}|^#{1,6}\s|^>\s?)", "", text or "", flags=re.M)
    return mark_safe(escape(text).replace("[[", "<mark>").replace("]]", "</mark>"))  # noqa: S308


@register.simple_tag
def can(action: str, user, obj) -> bool:
    return bool(getattr(perms, f"can_{action}")(user, obj))


# Line icons drawn inline: headless browsers and many desktops have no colour emoji font.
_ICONS = {
    "chat": '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>',
    "question": '<circle cx="12" cy="12" r="10"/><path d="M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3"/>'
                '<path d="M12 17h.01"/>',
    "pin": '<path d="M12 17v5"/><path d="M9 10.8V4h6v6.8l3 3.2v2H6v-2z"/>',
    "lock": '<rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>',
    "trash": '<path d="M3 6h18"/><path d="M8 6V4h8v2"/><path d="M19 6l-1 14H6L5 6"/>',
    "eye-off": '<path d="M9.9 4.2A10 10 0 0 1 12 4c7 0 10 8 10 8a17 17 0 0 1-3.2 4.2"/>'
               '<path d="M6.6 6.6A17 17 0 0 0 2 12s3 8 10 8a10 10 0 0 0 5.4-1.6"/><path d="M2 2l20 20"/>',
    "eye": '<path d="M2 12s3-8 10-8 10 8 10 8-3 8-10 8-10-8-10-8z"/><circle cx="12" cy="12" r="3"/>',
    "flag": '<path d="M4 22V4"/><path d="M4 4h13l-2 4 2 4H4"/>',
    "heart": '<path d="M20.8 4.6a5.5 5.5 0 0 0-7.8 0L12 5.7l-1-1.1a5.5 5.5 0 0 0-7.8 7.8L12 21.2'
             'l8.8-8.8a5.5 5.5 0 0 0 0-7.8z"/>',
    "check": '<path d="M20 6 9 17l-5-5"/>',
    "edit": '<path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/>',
    "plus": '<path d="M12 5v14"/><path d="M5 12h14"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
}


@register.simple_tag
def ficon(name: str, size: int = 15) -> str:
    return mark_safe(  # noqa: S308 - constant markup from _ICONS
        f'<svg class="icon" width="{int(size)}" height="{int(size)}" viewBox="0 0 24 24" fill="none" '
        f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        f'aria-hidden="true">{_ICONS[name]}</svg>'
    )
