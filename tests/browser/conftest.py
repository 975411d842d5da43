"""Selenium driving Debian's Chromium through its version-locked /usr/bin/chromedriver."""
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser(artifacts_dir, tmp_path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium is not installed: run `apt-get install chromium chromium-driver` (make test does).")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--window-size=1366,900", "--lang=en-US",
                 # Offline like a machine without internet: every host but the live server fails to resolve.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    driver.screenshots_dir = artifacts_dir / "screenshots"
    driver.screenshots_dir.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> Path:
        path = driver.screenshots_dir / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    def requested_hosts() -> set[str]:
        """Hosts the pages asked for since the last call (from Chromium's network log)."""
        import json
        from urllib.parse import urlsplit

        hosts = set()
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                if url.startswith(("http://", "https://", "ws://", "wss://")):
                    hosts.add(urlsplit(url).hostname)
        return hosts

    def console_errors() -> list[str]:
        return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]

    driver.shot = shot
    driver.requested_hosts = requested_hosts
    driver.console_errors = console_errors
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


DEMO_SLUGS = ("finance-sentiment", "faq-search", "npc-dialogue", "shape-classifier", "symptom-triage",
              "language-identifier")


def _demo_store(slugs: tuple[str, ...]):
    """The demo users and apps, with real models attached to `slugs` (built once, cached in var/)."""
    from io import StringIO

    from accounts import demo as accounts_demo
    from accounts.demo import demo_user
    from inference.demo import demo_model_attach
    from marketplace import demo as marketplace_demo
    from marketplace.models import App, Category
    from marketplace.services import app_acquire

    accounts_demo.seed_demo(stdout=StringIO())
    # Transactional tests flush the data migrations' categories: put back the ones the demo apps use.
    for spec in [*marketplace_demo.DEMO_APPS, marketplace_demo.DEMO_DRAFT]:
        Category.objects.get_or_create(slug=spec["category"], defaults={"name": spec["category"].title()})
    marketplace_demo.seed_demo(stdout=StringIO())
    for slug in slugs:
        version, _info = demo_model_attach(slug)
        assert version.status == "ready", version.error
    person = demo_user("user")
    for app in App.objects.filter(slug__in=slugs):
        app_acquire(user=person, app=app)
    return person


@pytest.fixture
def demo_store(transactional_db, settings):
    return _demo_store(DEMO_SLUGS)


@pytest.fixture
def demo_store_without_npc(transactional_db, settings):
    """The demo store without training the NPC language model (the slowest build): NPC Dialogue stays unlisted."""
    return _demo_store(tuple(slug for slug in DEMO_SLUGS if slug != "npc-dialogue"))


@pytest.fixture
def eager_celery():
    """Predictions run inside the live server at commit time (the real-worker path is tests/inference/test_worker)."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
