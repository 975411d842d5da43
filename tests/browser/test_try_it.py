"""Try it on two demo apps, in Chromium: a classifier with label bars and FAQ search with similarities."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_store(transactional_db, settings):
    """The demo users and apps, with the real finance and FAQ models attached (built once, cached in var/)."""
    from io import StringIO

    from accounts import demo as accounts_demo
    from inference.demo import demo_model_attach
    from marketplace import demo as marketplace_demo
    from marketplace.models import Category

    accounts_demo.seed_demo(stdout=StringIO())
    # Transactional tests flush the data migrations' categories: put back the ones the demo apps use.
    for spec in [*marketplace_demo.DEMO_APPS, marketplace_demo.DEMO_DRAFT]:
        Category.objects.get_or_create(slug=spec["category"], defaults={"name": spec["category"].title()})
    marketplace_demo.seed_demo(stdout=StringIO())
    for slug in ("finance-sentiment", "faq-search", "npc-dialogue", "shape-classifier"):
        version, _info = demo_model_attach(slug)
        assert version.status == "ready", version.error
    from accounts.demo import demo_user
    from marketplace.models import App
    from marketplace.services import app_acquire

    person = demo_user("user")
    for app in App.objects.filter(slug__in=["finance-sentiment", "faq-search", "npc-dialogue", "shape-classifier"]):
        app_acquire(user=person, app=app)
    return person


@pytest.fixture
def eager_celery():
    """Predictions run inside the live server at commit time (the real-worker path is tests/inference/test_worker)."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


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
