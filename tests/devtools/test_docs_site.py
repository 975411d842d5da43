"""The MkDocs site: builds with --strict, is served at /docs/ (English and Chinese), loads nothing from outside."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs-site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run([str(mkdocs), "build", "--strict", "-q", "-d", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.django_db
def test_docs_are_served_at_docs(client, settings, site):
    settings.DOCS_SITE_DIR = str(site)
    home = client.get("/docs/")
    assert home.status_code == 200 and b"ModelMarket" in b"".join(home.streaming_content)
    for page, text in [("/docs/quickstart/run/", "Install the client"),
                       ("/docs/concepts/pricing/", "0.010000"),
                       ("/docs/troubleshooting/", "spend_cap_reached"),
                       ("/docs/zh/quickstart/run/", "快速上手"),
                       ("/docs/zh/concepts/pricing/", "动态定价")]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert text in b"".join(response.streaming_content).decode(), page
    css = next((site / "assets" / "stylesheets").glob("main.*.min.css")).name
    assert client.get(f"/docs/assets/stylesheets/{css}").status_code == 200
    assert client.get("/docs/../config/settings.py").status_code == 404
    assert client.get("/docs/no-such-page/").status_code == 404


def test_no_external_assets(site):
    for page in site.rglob("*.html"):
        html = page.read_text()
        for url in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html):
            assert url.startswith("http://127.0.0.1:8000/docs/"), f"{page}: {url}"
        assert not re.search(r"@import url\(['\"]?https?://", html)  # no web fonts pulled from another host


@pytest.mark.django_db
def test_a_missing_build_says_how_to_build_it(client, settings, tmp_path):
    settings.DOCS_SITE_DIR = str(tmp_path / "nothing")
    response = client.get("/docs/")
    assert response.status_code == 404 and b"mkdocs build" in response.content


MERMAID = "javascripts/vendor/mermaid/mermaid.min.js"


def test_the_architecture_page_is_the_readme_section_with_its_diagram_drawn_offline(site):
    """README's "Architecture" section (between its snippet markers) is the docs page, diagram and table included;
    the diagram is drawn by the vendored mermaid.js, so mkdocs-material never fetches its CDN copy."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("[start:architecture] -->", 1)[1].split("<!-- --8<-- [end:architecture]", 1)[0]
    assert "```mermaid" in section and "| behaviour | module |" in section
    for language_dir in (site, site / "zh"):
        page = (language_dir / "concepts" / "architecture" / "index.html").read_text()
        assert '<pre class="mermaid"><code>flowchart TB' in page
        for row in ("billing/services/pricing.py", "inference/worker/batching.py", "community/services/trust.py",
                    "config/errors.py", "config/settings.py"):
            assert f"<code>{row}</code>" in page, row
        assert re.search(r'<script src="(\.\./)+' + re.escape(MERMAID) + '"', page), "the vendored mermaid.js"
    vendored = (site / MERMAID).read_text()
    assert 'globalThis["mermaid"]' in vendored  # defines the global that mkdocs-material looks for
    # mkdocs-material loads mermaid from a CDN only when no global `mermaid` exists: if a new version stops
    # checking, this fails rather than letting the docs fetch from outside.
    bundle = next((site / "assets" / "javascripts").glob("bundle.*.min.js")).read_text()
    assert re.search(r'typeof mermaid\s*==+\s*"undefined"\s*\|\|\s*mermaid instanceof Element\s*\?', bundle)
