"""Selenium steps shared by the browser flows."""
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.factories import DEFAULT_PASSWORD


def fill(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def wait_text(browser, text: str, timeout: float = 20) -> None:
    """Wait for `text` on the page, across the page load a form post starts (the old body goes stale midway:
    Chrome then answers "Node ... does not belong to the document", which is retried like a stale element)."""
    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), text))


def log_in(browser, base: str, email: str, *, password: str = DEFAULT_PASSWORD, next_url: str = "") -> None:
    """Log in through the real form as a fresh visitor (cookies cleared), then wait to leave the login page."""
    browser.delete_all_cookies()
    browser.get(f"{base}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    fill(browser, "login", email)
    fill(browser, "password", password)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "/accounts/login/" not in b.current_url)
