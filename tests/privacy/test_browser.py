"""In Chromium: the app page's privacy section, an export from settings, and deleting the account (screenshots in
test-artifacts/screenshots/privacy-*.png)."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from billing.selectors import ledger_check
from tests.browser.conftest import browser  # noqa: F401 - the Chromium fixture
from tests.browser.helpers import fill, log_in, wait_text
from tests.factories import AppFactory, UserFactory
from tests.helpers import celery_eager

from .conftest import finished

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager():
    with celery_eager():
        yield


def test_privacy_section_export_and_account_deletion(live_server, browser, eager):  # noqa: F811
    from tests.factories import AppVersionFactory

    base = live_server.url
    app = AppFactory(name="Private Notes", retention_days=7)
    AppVersionFactory(app=app, version="1.0.0", status="ready")
    person = UserFactory(email="leaving@example.com")
    finished(app, person, text="a note to myself")

    browser.get(f"{base}{app.get_absolute_url()}#privacy")
    section = browser.find_element(By.ID, "privacy")
    assert "erased 7 days after the prediction finishes" in section.text
    browser.execute_script("arguments[0].scrollIntoView()", section)
    browser.shot("privacy-app-section")

    log_in(browser, base, person.email, next_url="/settings/privacy/")
    wait_text(browser, "Export your data")
    browser.find_element(By.ID, "export-start").click()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "export-download")))
    browser.shot("privacy-settings-export-ready")
    href = browser.find_element(By.ID, "export-download").get_attribute("href")
    assert "/api/v1/me/export/" in href and "/download/" in href

    fill(browser, "password", "wrong password")
    browser.find_element(By.ID, "delete-account-button").click()
    browser.switch_to.alert.accept()
    wait_text(browser, "The password is not correct.")
    browser.shot("privacy-delete-wrong-password")
    from tests.factories import DEFAULT_PASSWORD

    fill(browser, "password", DEFAULT_PASSWORD)
    browser.find_element(By.ID, "delete-account-button").click()
    browser.switch_to.alert.accept()
    wait_text(browser, "Your account was deleted.")
    browser.shot("privacy-deleted")
    assert User.objects.get(pk=person.pk).deleted_at is not None
    assert ledger_check().ok
    # Only the wrong password's 400 page (a form with errors answers 400, as every form here does).
    assert [e for e in browser.console_errors() if "status of 400" not in e] == []
