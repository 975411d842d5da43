"""An XSS corpus: every payload renders inert in a thread, a post, a profile bio and an app description.

Pages are compared with the same page rendered from harmless text: whatever active content the page
has of its own (its scripts, its `onchange` handlers) must be all there is.
"""
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from community import services
from config.markdown import render_markdown
from tests.factories import AppFactory, UserFactory

pytestmark = pytest.mark.django_db

CORPUS = {
    "script": "<script>alert('x')</script> <SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "javascript_link": "[click](javascript:alert(1)) <a href=\"javascript:alert(1)\">a</a> <javascript:alert(1)> "
                       "[c](JaVaScRiPt:alert(1)) [e](&#106;avascript:alert(1))\n\n[ref][1]\n\n[1]: javascript:alert(1)",
    "data_link": "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) "
                 "![i](data:image/png;base64,iVBORw0KGgo=) ![s](data:image/svg+xml;base64,PHN2Zz4=)",
    "onerror": "<img src=x onerror=alert(1)> ![x](https://e.example/x.png\" onerror=\"alert(1))",
    "onload": "<body onload=alert(1)> <svg onload=alert(1)> <img src=https://e.example/a.png onload=alert(1)>",
    "svg_script": "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg> "
                  "![svg](https://e.example/x.svg#<script>)",
    "iframe": "<iframe src=\"https://evil.example\"></iframe> <iframe srcdoc=\"<script>alert(1)</script>\">",
    "style_expression": "<div style=\"width: expression(alert(1))\">x</div> "
                        "<style>body{x:expression(alert(1))}</style>",
    "bidi": "invoice\u202Efdp.exe and \u2066isAdmin\u2069 \u202Aleft\u202C \u202Bright\u202C",
    "nested": "[<img src=x onerror=alert(1)>](javascript:alert(1)) **<script>**alert(1)**</script>** "
              "[a](https://ok.example \"t\\\" onmouseover=\\\"alert(1)\") <a href='https://ok.example' "
              "onclick='alert(1)'>b</a> `<script>` <div><a href=\"javascript:x\">[y](javascript:z)</a></div> "
              "![a](/media/../admin/) <details open ontoggle=alert(1)>x</details>",
}
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BAD_TAGS = {"script", "iframe", "svg", "object", "embed", "style", "frame", "frameset", "base", "form", "math",
            "details", "body"}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


class _Active(HTMLParser):
    """Collects everything in a document that could run code or load something unexpected."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: Counter = Counter()

    def handle_starttag(self, tag, attrs):
        if tag in BAD_TAGS:
            self.found[("tag", tag)] += 1
        for name, value in attrs:
            value = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.found[("attr", tag, name, value)] += 1
            if name in ("href", "src", "action", "xlink:href") and value.startswith(BAD_SCHEMES):
                self.found[("url", tag, name, value)] += 1
            # Images from other hosts would leak readers' IP addresses: only our own files may load.
            if tag == "img" and name == "src" and not (value.startswith("/media/") or value.startswith("/static/")):
                self.found[("img", value)] += 1


def active(html: str) -> Counter:
    parser = _Active()
    parser.feed(html)
    return parser.found


def assert_inert(html: str, baseline: str = "") -> None:
    assert active(html) == active(baseline), active(html) - active(baseline)
    assert not any(ch in html for ch in BIDI)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_render_markdown_is_inert(name):
    html = render_markdown(CORPUS[name])
    assert_inert(html)
    assert "<script" not in html.lower() and "<iframe" not in html.lower()
    for anchor in html.split("<a ")[1:]:
        assert 'rel="nofollow ugc noopener"' in anchor.split(">")[0]


def test_safe_markdown_still_renders():
    html = render_markdown("**bold** [site](https://ok.example) ![pic](https://ok.example/a.png) "
                           "![ours](/media/icons/a.png)\n\n```python\nx = 1\n```")
    assert "<strong>bold</strong>" in html
    assert '<a href="https://ok.example" rel="nofollow ugc noopener">site</a>' in html
    assert 'src="/media/icons/a.png"' in html
    # An external image is not loaded by readers' browsers: it becomes a link they may choose to follow.
    assert 'src="https://ok.example/a.png"' not in html
    assert '<a href="https://ok.example/a.png" rel="nofollow ugc noopener">pic</a>' in html
    assert '<code class="language-python">' in html


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_thread_and_post_pages_are_inert(name, client, general, asker, moderator):
    payload = CORPUS[name]
    from community.models import ForumCategory

    help_category = ForumCategory.objects.get(slug="help")
    benign = services.thread_create(author=moderator, category=help_category, title="A harmless thread title",
                                    body="Just words.", kind="question")
    services.post_create(author=moderator, thread=benign, body="More words.")
    thread = services.thread_create(author=moderator, category=general, title=f"Title {payload}"[:200],
                                    body=payload, kind="question")
    services.post_create(author=moderator, thread=thread, body=payload)
    for viewer in (None, asker):
        if viewer:
            client.force_login(viewer)
        baseline = client.get(benign.get_absolute_url()).content.decode()
        page = client.get(thread.get_absolute_url()).content.decode()
        assert_inert(page, baseline)
        listing = client.get(general.get_absolute_url()).content.decode()
        assert_inert(listing, client.get(help_category.get_absolute_url()).content.decode())
    api = client.get(f"/api/v1/forum/threads/{thread.pk}/posts/").json()
    for post in api["results"]:
        assert_inert(post["body_html"])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_profile_bio_is_inert(name, client):
    benign = UserFactory(username="plainbio", bio="I like **models**.")
    person = UserFactory(username="evilbio", bio=CORPUS[name])
    assert_inert(render_markdown(person.bio))
    baseline = client.get(reverse("accounts:profile", kwargs={"username": benign.username}))
    page = client.get(reverse("accounts:profile", kwargs={"username": person.username}))
    assert page.status_code == baseline.status_code == 200
    assert_inert(page.content.decode(), baseline.content.decode())


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_app_description_is_inert(name, client):
    benign = AppFactory(description="A **fine** app with a [site](https://ok.example).")
    app = AppFactory(owner=benign.owner, description=CORPUS[name] + "\n\nMARKER-WORD")
    services.category_for_app_ensure(app=benign)
    services.category_for_app_ensure(app=app)
    baseline = client.get(benign.get_absolute_url())
    page = client.get(app.get_absolute_url())
    assert page.status_code == baseline.status_code == 200
    html = page.content.decode()
    assert "MARKER-WORD" in html
    assert_inert(html.replace(benign.name, app.name), baseline.content.decode())


def test_the_detector_catches_active_content():
    """The comparison above is only as good as this parser: it must see each kind of payload when live."""
    live = ('<script>x</script><img src=x onerror=alert(1)><a href="javascript:x">a</a><iframe></iframe>'
            '<svg onload=x></svg><div style="x:expression(1)"></div><a href="data:text/html,x">d</a>')
    found = active(live)
    kinds = {key[0] for key in found}
    assert kinds == {"tag", "attr", "url", "img"}
    assert ("tag", "script") in found and ("tag", "iframe") in found and ("tag", "svg") in found


@pytest.mark.django_db
def test_forum_posts_load_no_image_from_another_host(client, general, moderator):
    from community.services import thread_create

    thread = thread_create(author=moderator, category=general, title="Look at this",
                           body="![tracker](https://tracker.example/pixel.png) ![x](//tracker.example/p.png) "
                                "![ours](/media/icons/a.png)", kind="discussion")
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "<img" in page and 'src="/media/icons/a.png"' in page
    assert 'src="https://tracker.example' not in page and 'src="//tracker.example' not in page
