import pytest
from selenium.webdriver.common.by import By

from accounts.services import api_key_create, notification_send
from marketplace.models import AppStatus
from tests.factories import AppFactory, AppVersionFactory, DeveloperFactory, LibraryEntryFactory, category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shots(live_server, browser):
    dev = DeveloperFactory(username="acme")
    apps = []
    for i, (name, slug, pricing) in enumerate([("FAQ Search", "customer-service", "free"), ("Finance Sentiment", "finance", "per_call"),
                                 ("NPC Dialogue", "games", "per_call"), ("Shape Classifier", "education", "free"),
                                 ("Triage Notes", "healthcare", "per_call"), ("Movie Match", "recommendation", "free"),
                                 ("Long Name Application For Testing Overflow", "other", "per_call")]):
        apps.append(AppFactory(owner=dev, name=name, category=category(slug), tagline="Does something useful with a model, quickly and well",
                   pricing_model=pricing, base_price="0.004" if pricing == "per_call" else "0", max_price="0.02" if pricing == "per_call" else "0",
                   runs_count=1000 - i * 100, rating_sum=4 * 2, reviews_count=2, featured=i < 3))
    AppFactory(owner=dev, name="Rejected One", status=AppStatus.REJECTED, status_reason="Description missing.")
    AppVersionFactory(app=apps[0], version="1.0.0")
    base = live_server.url
    for name, url in [("x-login", "/accounts/login/"), ("x-signup", "/accounts/signup/"), ("x-reset", "/accounts/password/reset/"),
                      ("x-category", "/c/finance/"), ("x-search-empty", "/search/?q=zzzz")]:
        browser.get(base + url)
        browser.shot(name)
    browser.get(base + "/accounts/login/")
    browser.find_element(By.NAME, "login").send_keys(dev.email)
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery-9")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    notification_send(user=dev, kind="x", message="Your app “FAQ Search” was approved and is now published.")
    notification_send(user=dev, kind="x", message="The developer replied.")
    api_key_create(user=dev, name="laptop", scopes=["read", "predict"])
    LibraryEntryFactory(user=dev, app=apps[1])
    for name, url in [("x-console", "/console/"), ("x-settings", "/settings/"), ("x-keys", "/settings/keys/"),
                      ("x-notifications", "/notifications/"), ("x-developer", "/settings/developer/"),
                      ("x-profile", "/u/acme/"), ("x-library", "/library/"), ("x-new-app", "/console/apps/new/"),
                      ("x-app-paid", f"/apps/{apps[1].slug}/"), ("x-logout", "/accounts/logout/"), ("x-email", "/accounts/email/")]:
        browser.get(base + url)
        browser.shot(name)
    browser.get(base + "/settings/keys/")
    browser.find_element(By.NAME, "name").send_keys("ci")
    browser.find_element(By.ID, "create-key").click()
    browser.shot("x-key-created")
    browser.get(base + "/console/apps/new/")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    browser.shot("x-new-app-errors")
    browser.set_window_size(390, 844)
    browser.get(base + "/")
    browser.shot("x-mobile-home")
    browser.get(base + f"/apps/{apps[1].slug}/")
    browser.shot("x-mobile-app")
    print("WIDE", browser.execute_script("""
      var out = []; document.querySelectorAll('body *').forEach(function (el) {
        var r = el.getBoundingClientRect(); if (r.right > window.innerWidth + 1) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
      }); return out.slice(0, 15).join('\\n') + ' inner=' + window.innerWidth;"""))
    browser.get(live_server.url + "/")
    print("WIDE", browser.execute_script("""
      var out = []; document.querySelectorAll('body *').forEach(function (el) {
        var r = el.getBoundingClientRect(); if (r.right > window.innerWidth + 1) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
      }); return out.slice(0, 15).join('\\n') + ' inner=' + window.innerWidth;"""))
