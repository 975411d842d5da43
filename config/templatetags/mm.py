"""Template helpers shared by every page: sanitised Markdown, money, stars, icon colours, query strings."""
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop

from config.markdown import render_markdown

register = template.Library()

ICON_GRADIENTS = 8


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    """Markdown rendered and sanitised by nh3, so marking it safe is sound."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 - sanitised by nh3 in render_markdown


@register.filter
def money(value, places: int = 6) -> str:
    """A Decimal amount as text, trimmed to `places` but never below two decimals (0.012 not 0.012000)."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:.{int(places)}f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        frac = frac + "0" * (2 - len(frac)) if len(frac) < 2 else frac
        text = f"{whole}.{frac}"
    return text


@register.filter
def gradient(obj) -> int:
    """A stable colour index for an object without an image (app icon, avatar)."""
    key = getattr(obj, "pk", None) or 0
    if not key:
        key = sum(ord(ch) for ch in str(obj))
    return int(key) % ICON_GRADIENTS


@register.filter
def stars(rating) -> str:
    """Five characters of full/empty stars for a 0–5 rating, rounded to the nearest star."""
    try:
        full = int(round(float(rating or 0)))
    except (TypeError, ValueError):
        full = 0
    full = max(0, min(5, full))
    return "★" * full + "☆" * (5 - full)


@register.filter
def initial(text) -> str:
    text = str(text or "?").strip()
    return (text[:1] or "?").upper()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced, for sort links and pagination."""
    request = context.get("request")
    params = request.GET.copy() if request is not None else None
    if params is None:
        from django.http import QueryDict

        params = QueryDict(mutable=True)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


# Category names live in the database in English; these make them translatable at render time.
CATEGORY_NAMES = [
    gettext_noop("Games"), gettext_noop("Finance"), gettext_noop("Healthcare"), gettext_noop("Education"),
    gettext_noop("Customer service"), gettext_noop("Recommendation"), gettext_noop("Other"),
]
# Simple 24px line icons (stroke="currentColor"), drawn for ModelMarket: no icon font, no CDN, no emoji font needed.
CATEGORY_ICONS = {
    "games": '<rect x="2" y="7" width="20" height="11" rx="5"/><path d="M7 11v3M5.5 12.5h3"/>'
             '<circle cx="15.5" cy="11.5" r=".6"/><circle cx="17.5" cy="13.5" r=".6"/>',
    "finance": '<path d="M3 17l6-6 4 4 8-8"/><path d="M15 7h6v6"/>',
    "healthcare": '<path d="M3 12h4l2-5 4 10 2-5h6"/>',
    "education": '<path d="M2 9l10-5 10 5-10 5z"/><path d="M6 11v5c3 2 9 2 12 0v-5"/>',
    "customer-service": '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>',
    "recommendation": '<path d="M12 3l2.6 5.6 6.1.7-4.5 4.2 1.2 6L12 16.6 6.6 19.5l1.2-6L3.3 9.3l6.1-.7z"/>',
    "other": '<rect x="3" y="3" width="7" height="7" rx="1.5"/><rect x="14" y="3" width="7" height="7" rx="1.5"/>'
             '<rect x="3" y="14" width="7" height="7" rx="1.5"/><rect x="14" y="14" width="7" height="7" rx="1.5"/>',
}
ICONS = {
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
    "box": '<path d="M21 8l-9-5-9 5 9 5 9-5z"/><path d="M3 8v8l9 5 9-5V8"/><path d="M12 13v8"/>',
    "rocket": '<path d="M5 15c-1.5 1.5-2 5-2 5s3.5-.5 5-2"/><path d="M9 15l-3-3c1-4 5-9 14-9 0 9-5 13-9 14z"/>'
              '<circle cx="15" cy="9" r="1.5"/>',
    "bell": '<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>',
    "play": '<path d="M7 4v16l13-8z"/>',
    "check": '<path d="M5 12l5 5L20 7"/>',
}


def _svg(paths: str, size: int) -> str:
    return (f'<svg width="{size}" height="{size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
            f'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{paths}</svg>')


@register.simple_tag
def category_icon(category, size: int = 20) -> str:
    slug = getattr(category, "slug", category)
    return mark_safe(_svg(CATEGORY_ICONS.get(slug, CATEGORY_ICONS["other"]), int(size)))  # noqa: S308 - constants


@register.simple_tag
def icon(name: str, size: int = 20) -> str:
    return mark_safe(_svg(ICONS.get(name, ICONS["box"]), int(size)))  # noqa: S308 - constants


@register.filter
def trans_name(name) -> str:
    """Translate a database label (a category name) if the catalogue knows it."""
    return gettext(str(name)) if name else ""  # gettext("") would answer the catalogue's header


CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cny": "¥", "jpy": "¥"}


def money_text(value, *, signed: bool = False) -> str:
    """The one money format: `$25.00`, `$0.0021`, `−$0.50` (`+$25.00` when signed).

    Sensible precision for the amount: at least cents, up to four decimals from one unit up and six below it,
    so small per-call prices and balances after them stay exact. Currencies without a symbol here read `0.0021 CHF`.
    """
    from django.conf import settings

    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    digits = money(abs(amount), 4 if abs(amount) >= 1 else 6)
    whole, _dot, frac = digits.partition(".")
    digits = f"{int(whole):,}.{frac}" if frac else f"{int(whole):,}"
    code = settings.CURRENCY.lower()
    symbol = CURRENCY_SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{digits} {code.upper()}"
    if amount < 0:
        return f"−{text}"
    return f"+{text}" if signed and amount > 0 else text


@register.filter
def price(value) -> str:
    """An amount in the platform currency, in the one money format (see `money_text`)."""
    return money_text(value)


@register.filter
def signed_price(value) -> str:
    """A ledger amount: `+$25.00`, `−$0.0021`."""
    return money_text(value, signed=True)
