"""Try it on two demo apps, in Chromium: a classifier with label bars and FAQ search with similarities."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser


def _log_in(browser, base):
    browser.get(f"{base}/accounts/login/")
    browser.find_element(By.NAME, "login").send_keys("user@modelmarket.local")
    browser.find_element(By.NAME, "password").send_keys("demo-pass-123")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: "/accounts/login/" not in b.current_url)


def _run_and_wait(browser):
    panel = browser.find_element(By.ID, "try-it")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", panel)
    browser.find_element(By.ID, "try-run").click()
    WebDriverWait(browser, 60).until(
        EC.text_to_be_present_in_element_attribute((By.ID, "try-status"), "data-state", "succeeded"))
    return panel


def test_try_it_on_finance_sentiment_and_faq_search(live_server, browser, demo_store, eager_celery):
    base = live_server.url
    _log_in(browser, base)

    browser.get(f"{base}/apps/finance-sentiment/")
    examples = browser.find_elements(By.CSS_SELECTOR, ".try-example")
    assert len(examples) == 3
    examples[1].click()  # the impairment/dividend-cut headline
    panel = _run_and_wait(browser)
    bars = panel.find_elements(By.CSS_SELECTOR, ".try-bar")
    assert {bar.find_element(By.CSS_SELECTOR, ".label").text for bar in bars} == {"positive", "negative", "neutral"}
    assert panel.find_element(By.CSS_SELECTOR, ".try-headline strong").text.lower() == "negative"
    assert "batch" in browser.find_element(By.ID, "try-metrics").text
    browser.shot("try-it-finance-sentiment")

    browser.get(f"{base}/apps/faq-search/")
    panel = _run_and_wait(browser)
    bars = panel.find_elements(By.CSS_SELECTOR, ".try-bar")
    assert len(bars) == 4
    # "How do I get my money back?" is closest to the refund policy, though they share no key words.
    assert bars[0].find_element(By.CSS_SELECTOR, ".label").text.startswith("Refund policy")
    browser.shot("try-it-faq-search")


def test_try_it_streams_npc_lines_and_classifies_drawn_shapes(live_server, browser, demo_store, eager_celery):
    base = live_server.url
    _log_in(browser, base)

    browser.get(f"{base}/apps/npc-dialogue/")
    panel = _run_and_wait(browser)
    generated = panel.find_element(By.CSS_SELECTOR, ".try-generated")
    assert generated.text.startswith("Blacksmith: Ah, a traveller!")
    assert len(generated.text) > len("Blacksmith: Ah, a traveller!")
    browser.shot("try-it-npc-dialogue")

    browser.get(f"{base}/apps/shape-classifier/")
    browser.find_element(By.CSS_SELECTOR, ".try-shape[data-shape=square]").click()
    panel = _run_and_wait(browser)
    labels = [bar.find_element(By.CSS_SELECTOR, ".label").text for bar in panel.find_elements(By.CSS_SELECTOR,
                                                                                              ".try-bar")]
    assert sorted(labels) == ["circle", "square", "triangle"]
    # The model's answer, not only its label names: the square preset is classified as a square.
    assert panel.find_element(By.CSS_SELECTOR, ".try-headline strong").text.lower() == "square"
    browser.shot("try-it-shape-classifier")
