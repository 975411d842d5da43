"""A newcomer's first look, offline, at desktop and phone widths, in English and Chinese.

Chromium resolves no host but the live server (tests/browser/conftest.py): a page that needs the internet
shows it here. Every page must ask only the live server and log no console error.
"""
from pathlib import Path

import pytest
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_try_it import _log_in, _run_and_wait

pytestmark = pytest.mark.browser

PAGES = [
    ("home", "/"),
    ("browse", "/apps/"),
    ("search-typo", "/search/?q=sentimnt"),
    ("app-finance", "/apps/finance-sentiment/"),
    ("app-shapes", "/apps/shape-classifier/"),
    ("app-triage", "/apps/symptom-triage/"),
    ("wallet", "/billing/wallet/"),
    ("keys", "/settings/keys/"),
    ("not-found", "/no-such-page/"),
]
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, vendored (npm pack)


def _axe_serious(browser) -> list[str]:
    """Run axe-core on the current page: the serious and critical violations, as 'rule: target' lines."""
    browser.execute_script(AXE.read_text())
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done(String(e)));")
    assert isinstance(result, list), result
    return [f"{v['id']}: {node['target']}" for v in result if v["impact"] in ("serious", "critical")
            for node in v["nodes"]]


def _set_language(browser, base: str, code: str) -> None:
    browser.get(f"{base}/favicon.ico")
    browser.add_cookie({"name": "django_language", "value": code, "path": "/"})


def _local_only(browser, live_host: str, *, own_404: str = "") -> None:
    """Only the live server was asked, and the console has no error (but the 404 page's own status)."""
    hosts = browser.requested_hosts()
    assert hosts <= {live_host, "127.0.0.1", "localhost"}, hosts
    errors = [error for error in browser.console_errors() if not (own_404 and own_404 in error and "404" in error)]
    assert not errors, errors


def test_pages_work_offline_on_desktop_and_phone_in_english_and_chinese(live_server, browser,
                                                                        demo_store_without_npc):
    from urllib.parse import urlsplit

    from django.urls import reverse

    base = live_server.url
    live_host = urlsplit(base).hostname
    keys_path = reverse("accounts:api_keys")
    _log_in(browser, base)
    browser.requested_hosts()
    browser.console_errors()
    for language in ("en", "zh-hans"):
        _set_language(browser, base, language)
        for width_name, (width, height) in WIDTHS.items():
            browser.set_window_size(width, height)
            for name, path in PAGES:
                browser.get(base + (keys_path if name == "keys" else path))
                WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "main")))
                if name == "search-typo":  # "sentimnt" still finds Finance Sentiment
                    assert "Finance Sentiment" in browser.find_element(By.ID, "main").text
                if name == "not-found":
                    assert browser.find_elements(By.CSS_SELECTOR, "main a.btn-primary")  # a way back
                browser.shot(f"first-{language}-{width_name}-{name}")
                # Nothing wider than the screen: no sideways scrolling on a phone.
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                wide = browser.execute_script(
                    "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]"
                    ".filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 5)"
                    ".map(e => e.tagName + '.' + e.className);")
                assert overflow <= 1, (name, width, overflow, wide)
                _local_only(browser, live_host, own_404=path if name == "not-found" else "")
                if width_name == "desktop":
                    serious = _axe_serious(browser)
                    assert not serious, (language, name, serious)
            if width_name == "phone":
                # The price and the Get/library button are near the top of the app page on a phone.
                browser.get(f"{base}/apps/finance-sentiment/")
                top = browser.execute_script("return document.getElementById('price').getBoundingClientRect().top")
                assert top < height, top
        menu = browser.find_element(By.CSS_SELECTOR, "select[name=language]")
        assert "简体中文" in menu.text


def test_drawing_on_the_shape_canvas_with_touch_and_a_paid_quote(live_server, browser, demo_store_without_npc,
                                                                 eager_celery):
    base = live_server.url
    _log_in(browser, base)
    browser.get(f"{base}/apps/shape-classifier/")
    canvas = browser.find_element(By.ID, "try-canvas")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    before = browser.execute_script("return arguments[0].toDataURL();", canvas)
    # A triangle drawn with a finger: touch pointer events.
    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    actions = ActionBuilder(browser, mouse=finger)
    actions.pointer_action.move_to(canvas, 0, -50).pointer_down()
    for x, y in ((-50, 45), (50, 45), (0, -50)):
        actions.pointer_action.move_to(canvas, x, y)
    actions.pointer_action.pointer_up()
    actions.perform()
    after = browser.execute_script("return arguments[0].toDataURL();", canvas)
    assert after != before  # the stroke landed on the canvas
    panel = _run_and_wait(browser)
    top = panel.find_element(By.CSS_SELECTOR, ".try-headline strong").text.lower()  # shown capitalised
    browser.shot("first-shape-drawn-triangle")
    assert top == "triangle"

    # A clean triangle from the preset button: the model is sure of it.
    browser.find_element(By.CSS_SELECTOR, ".try-shape[data-shape=triangle]").click()
    panel = _run_and_wait(browser)
    first = panel.find_element(By.CSS_SELECTOR, ".try-bar.top")
    assert first.find_element(By.CSS_SELECTOR, ".label").text.lower() == "triangle"
    assert float(first.find_element(By.CSS_SELECTOR, ".score").text.rstrip("%")) >= 90

    # Paid app: the price of the next run shows before running, and the model card gives the test accuracy.
    browser.get(f"{base}/apps/finance-sentiment/")
    quote = WebDriverWait(browser, 10).until(EC.visibility_of_element_located((By.ID, "try-quote")))
    assert quote.text.startswith(("This run costs $", "This run is free"))
    assert "Accuracy" in browser.find_element(By.ID, "model-card").text
    panel = _run_and_wait(browser)
    assert panel.find_element(By.CSS_SELECTOR, ".try-headline strong").text.lower() == "positive"
    browser.shot("first-finance-quote-and-model-card")
