"""The main pages photographed whole, at desktop (1280) and phone (390) widths, on the demo store: the store, app
pages with Try it and the live price, the wallet, a forum thread, a prediction, profile and settings pages, the
developer console, its forms, earnings and training pages, and the admin's economics, review and test-run pages.

The pictures (test-artifacts/screenshots/look-*.png) are for people: take them before and after a change of
styles and compare. The test asserts what a machine can: every stylesheet and script is a static file that
loaded (no <style> element, no inline script but JSON data), the page logs no console error, and nothing is
wider than the screen.
"""
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}

# What the page loaded: inline <style>/<script> elements, stylesheets that failed, and the widest element.
PAGE_FACTS = """
const inlineScripts = [...document.scripts].filter(s => !s.src && !/json/.test(s.type || "")).length;
const brokenSheets = [...document.styleSheets].filter(sheet => {
  try { return sheet.cssRules.length === 0; } catch (e) { return true; }
}).map(sheet => sheet.href);
const width = document.documentElement.clientWidth;
return {styles: document.querySelectorAll("style").length, inlineScripts, brokenSheets,
        sheets: [...document.styleSheets].map(sheet => sheet.href),
        overflow: document.documentElement.scrollWidth - width,
        height: Math.ceil(document.documentElement.scrollHeight)};
"""


@pytest.fixture
def demo_site(demo_store_without_npc, eager_celery):
    """The demo store plus the demo money (credits, a budget), forum threads, a training dataset, and the draft
    app waiting for review."""
    import importlib.util
    from io import StringIO

    from billing import demo as billing_demo
    from community import demo as community_demo
    from community.models import Thread
    from marketplace.models import App

    billing_demo.seed_demo(stdout=StringIO())
    community_demo.seed_demo(stdout=StringIO())
    # Training is its own app after the architecture work (training/), inside inference/ before it.
    training = "training"
    importlib.import_module(f"{training}.demo").seed_demo(stdout=StringIO())
    dataset = importlib.import_module(f"{training}.models").Dataset.objects.get()
    draft = App.objects.get(slug="essay-feedback")
    App.objects.filter(pk=draft.pk).update(status="in_review")
    thread = max(Thread.objects.all(), key=lambda t: t.posts.count())
    return {"thread": thread.get_absolute_url(), "dataset": f"/console/training/datasets/{dataset.pk}/",
            "draft_admin": f"/admin/marketplace/app/{draft.pk}/change/",
            "test_run": f"/admin/marketplace/app/{draft.pk}/test-run/"}


def _emulate(browser, width: int, height: int, mobile: bool) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def _photograph(browser, name: str, width: int) -> dict:
    """The whole page as one PNG (not just the screen), and the facts about what it loaded."""
    import base64

    facts = browser.execute_script(PAGE_FACTS)
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": facts["height"], "scale": 1}})
    (browser.screenshots_dir / f"look-{name}.png").write_bytes(base64.b64decode(shot["data"]))
    return facts


def test_the_main_pages_load_only_static_styles_and_scripts(live_server, browser, demo_site):
    base = live_server.url
    from inference.models import Prediction

    # One finished prediction of the user's, from the app page's Try it (its page shows the output bars).
    log_in(browser, base, "user@modelmarket.local", password="demo-pass-123")
    browser.get(f"{base}/apps/finance-sentiment/")
    browser.find_element(By.ID, "try-run").click()
    WebDriverWait(browser, 60).until(
        EC.text_to_be_present_in_element_attribute((By.ID, "try-status"), "data-state", "succeeded"))
    prediction = Prediction.objects.latest("created_at")
    visits = [
        ("user@modelmarket.local", "demo-pass-123", [
            ("store", "/"), ("browse", "/apps/"), ("app", "/apps/finance-sentiment/"),
            ("app-free", "/apps/faq-search/"), ("wallet", "/billing/wallet/"), ("thread", demo_site["thread"]),
            ("prediction", f"/predictions/{prediction.pk}/"), ("profile", "/u/demo-dev/"),
            ("notifications", "/notifications/"), ("settings", "/settings/"), ("not-found", "/no-such-page/")]),
        ("dev@modelmarket.local", "demo-pass-123", [
            ("console", "/console/"), ("console-app", "/console/apps/finance-sentiment/"),
            ("console-new-app", "/console/apps/new/"),
            ("console-new-version", "/console/apps/finance-sentiment/versions/new/"),
            ("earnings", "/billing/earnings/"), ("training", "/console/training/"),
            ("dataset", demo_site["dataset"])]),
        ("admin@modelmarket.local", "admin-pass-123", [
            ("admin-economics", "/admin/billing/economicsreport/"), ("admin-review", demo_site["draft_admin"]),
            ("admin-test-run", demo_site["test_run"])]),
    ]
    problems = []
    for email, password, pages in visits:
        log_in(browser, base, email, password=password)
        browser.console_errors()
        for width_name, (width, height, mobile) in WIDTHS.items():
            _emulate(browser, width, height, mobile)
            for name, path in pages:
                browser.get(base + path)
                WebDriverWait(browser, 10).until(EC.presence_of_element_located(
                    (By.ID, "content") if name.startswith("admin") else (By.TAG_NAME, "footer")))
                if name == "app":  # the live price has been polled once and shows the server's text
                    WebDriverWait(browser, 10).until(
                        lambda b: b.execute_script("return performance.getEntriesByType('resource')"
                                                   ".some(e => e.name.includes('/price/'))"))
                    time.sleep(0.5)
                facts = _photograph(browser, f"{width_name}-{name}", width)
                # Every page is photographed before anything is asserted: the pictures are the point.
                if facts["styles"] or facts["inlineScripts"] or facts["brokenSheets"]:
                    problems.append((width_name, name, facts))
                if not name.startswith("admin") and facts["overflow"] > 1:
                    problems.append((width_name, name, f"{facts['overflow']} px wider than the screen"))
                errors = [e for e in browser.console_errors() if not (name == "not-found" and "404" in e)]
                if errors:
                    problems.append((width_name, name, errors))
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not problems, problems
    # The live price is the server's formatting ($0.0021, not a second formatter's idea of it).
    browser.get(f"{base}/apps/finance-sentiment/")
    price = browser.find_element(By.ID, "live-price")
    assert price.text.startswith("$") and price.get_attribute("data-amount")
