"""Markdown rendered on the server and sanitised: the one renderer for descriptions, posts and bios."""
import posixpath
import re
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

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


def strip_bidi(text: str) -> str:
    """For plain-text fields shown next to Markdown (thread titles): same Trojan Source protection."""
    return _BIDI.sub("", text or "")


def _safe_image_src(value: str) -> bool:
    """Images only from our own /media/ (no `..` escaping it, no tricks with encodings).

    An image on another host would be fetched by every reader's browser and leak their IP address to it.
    """
    if value.startswith("/media/") and "\\" not in value:
        decoded = unquote(unquote(value.split("?", 1)[0].split("#", 1)[0]))
        return "\\" not in decoded and posixpath.normpath(decoded).startswith("/media/") and ".." not in decoded
    return False


def _render_image(self, tokens, idx, options, env) -> str:
    """Our own images render; any other image becomes a plain link to it, which readers may choose to open."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    if _safe_image_src(src):
        return self.image(tokens, idx, options, env)
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


_md.add_render_rule("image", _render_image)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _safe_image_src(value) else None
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
