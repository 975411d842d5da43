"""Posts' text: @mentions and Markdown, rendered once when a post is written or edited."""
from __future__ import annotations

import re

from accounts.models import User
from config.markdown import render_markdown

_CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.S)
_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_][\w.+-]{0,149})")


def mentioned_usernames(body: str) -> list[str]:
    """@names outside code, in order, without duplicates."""
    seen: list[str] = []
    for name in _MENTION.findall(_CODE.sub(" ", body or "")):
        name = name.rstrip(".")
        if name.lower() not in [s.lower() for s in seen]:
            seen.append(name)
    return seen


def _link_mentions(body: str, usernames: set[str]) -> str:
    """Turn known @names into profile links before rendering (code spans untouched)."""
    if not usernames:
        return body
    lowered = {u.lower(): u for u in usernames}
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in _CODE.finditer(body):
        pieces.append(("text", body[last:match.start()]))
        pieces.append(("code", match.group(0)))
        last = match.end()
    pieces.append(("text", body[last:]))

    def link(m: re.Match[str]) -> str:
        name = m.group(1).rstrip(".")
        real = lowered.get(name.lower())
        if not real:
            return m.group(0)
        return f"[@{real}](/u/{real}/)" + m.group(1)[len(name):]

    return "".join(_MENTION.sub(link, text) if kind == "text" else text for kind, text in pieces)


def post_render(body: str) -> str:
    """The post's safe HTML, with links to the profiles of the people it mentions."""
    names = mentioned_usernames(body)
    known = set(User.objects.filter(username__in=names).values_list("username", flat=True)) if names else set()
    return render_markdown(_link_mentions(body, known))
