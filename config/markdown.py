"""Markdown rendered on the server and sanitised: the one renderer for descriptions, posts and bios."""
import re

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable(
    "strikethrough"
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
}
# Bidirectional overrides can disguise text (Trojan Source); strip them before rendering.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        # Images only over https or from our own media.
        if value.startswith("https://") or value.startswith("/media/"):
            return value
        return None
    if tag == "code" and attribute == "class":
        return value if re.fullmatch(r"language-[\w+-]{1,30}", value) else None
    return value


def render_markdown(text: str) -> str:
    """Markdown → HTML that is safe to mark_safe: allow-listed tags, http(s)/mailto links, no scripts."""
    html = _md.render(_BIDI.sub("", text or ""))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )
