"""The docs site's architecture diagram is drawn in Chromium offline: mermaid.js is our vendored copy, nothing is
fetched from another host (the browser resolves no host but the live server)."""
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs-site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run([str(mkdocs), "build", "--strict", "-q", "-d", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr
    return out


def test_the_layer_diagram_is_drawn_from_the_vendored_mermaid(live_server, browser, settings, docs_site):
    settings.DOCS_SITE_DIR = str(docs_site)
    browser.requested_hosts()
    browser.get(f"{live_server.url}/docs/concepts/architecture/")
    # mkdocs-material swaps each <pre class="mermaid"> for a <div class="mermaid"> holding the drawn SVG.
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "return !document.querySelector('pre.mermaid') && document.querySelectorAll('div.mermaid').length === 1"))
    height = browser.execute_script("return document.querySelector('div.mermaid').getBoundingClientRect().height")
    assert height > 200, height  # the layers stacked: a real drawing, not an error line
    browser.execute_script("document.querySelector('div.mermaid').scrollIntoView({block: 'start'})")
    browser.shot("docs-architecture-diagram")
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(url.endswith("/javascripts/vendor/mermaid/mermaid.min.js") for url in loaded), loaded
    assert browser.requested_hosts() <= {urlsplit(live_server.url).hostname, "127.0.0.1", "localhost"}
    # The language switcher asks for sitemap.xml next to the page (the site has no site_url): a 404, not ours.
    assert not [error for error in browser.console_errors() if "sitemap.xml" not in error]
