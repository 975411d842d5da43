"""Money end to end in Chromium: top up through (fake) Stripe Checkout, run a paid app, see the books move."""
import json
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from billing import selectors
from billing.models import Transaction
from tests.browser.helpers import log_in
from tests.factories import DEFAULT_PASSWORD, LibraryEntryFactory, PaidAppFactory, UserFactory
from tests.fakestripe import FakeStripe
from tests.helpers import celery_eager
from tests.inference.conftest import ready_version, tiny_models  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def stripe_server(live_server, settings):
    server = FakeStripe(webhook_secret="whsec_browser").start()
    server.webhook_url = f"{live_server.url}/billing/stripe/webhook/"
    settings.STRIPE_SECRET_KEY = "sk_test_browser"
    settings.STRIPE_WEBHOOK_SECRET = server.webhook_secret
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def eager():
    with celery_eager():
        yield


def amount_of(browser, element_id: str) -> Decimal:
    return Decimal(browser.find_element(By.ID, element_id).get_attribute("data-amount"))


def test_top_up_run_paid_app_and_see_the_books(live_server, browser, stripe_server, eager, tiny_models,  # noqa: F811
                                               settings):
    base = live_server.url
    settings.SITE_URL = base  # Stripe's return URLs come from SITE_URL, never from the Host header
    app = PaidAppFactory(name="Finance Sentiment Pro", slug="finance-sentiment-pro", base_price=D("0.120000"),
                         k=D("0.010000"), max_price=D("0.500000"), tagline="Is this headline good or bad news?")
    ready_version(app, tiny_models["classifier"], task="text-classification")
    buyer = UserFactory(username="grace", email="grace@example.com")
    LibraryEntryFactory(user=buyer, app=app)

    # 1. Top up through Checkout: our wallet page -> the fake Stripe page -> back, credited by the webhook.
    log_in(browser, base, buyer.email)
    browser.get(f"{base}/billing/wallet/")
    assert amount_of(browser, "wallet-balance") == 0
    field = browser.find_element(By.ID, "id_amount")
    field.clear()
    field.send_keys("2")  # below the minimum: an inline error, no session
    browser.find_element(By.ID, "topup-submit").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#topup .errorlist")))
    field = browser.find_element(By.ID, "id_amount")
    field.clear()
    field.send_keys("10")
    browser.shot("billing-1-wallet-topup")
    browser.find_element(By.ID, "topup-submit").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "pay")))
    assert "10.00 USD" in browser.find_element(By.ID, "amount").text
    browser.shot("billing-2-fake-checkout")
    browser.find_element(By.ID, "pay").click()
    WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.ID, "wallet-balance")))
    assert [status for _event, status in stripe_server.deliveries] == [200]
    assert amount_of(browser, "wallet-balance") == D("10")
    browser.shot("billing-3-wallet-credited")

    # 2. Run the paid app at its quoted price: the quote is what the app page shows, the balance drops by it.
    browser.get(f"{base}{app.get_absolute_url()}")
    shown = amount_of(browser, "live-price")
    browser.shot("billing-4-app-price")
    result = browser.execute_async_script("""
        const [slug, done] = arguments;
        const csrf = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
        fetch(`/api/v1/apps/${slug}/quote/`, {credentials: 'same-origin'}).then(r => r.json()).then(quote =>
          fetch(`/api/v1/apps/${slug}/predictions/`, {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf, 'Prefer': 'wait=30'},
            body: JSON.stringify({input: {text: 'profits rose'}, quote_id: quote.quote_id})})
          .then(r => r.json()).then(prediction => done(JSON.stringify({quote, prediction}))))
          .catch(e => done(JSON.stringify({error: String(e)})));
    """, app.slug)
    data = json.loads(result)
    quote, prediction = data["quote"], data["prediction"]
    assert prediction["status"] == "succeeded", prediction
    assert Decimal(quote["price"]) == shown == D("0.12")
    assert Decimal(prediction["price"]) == Decimal(quote["price"])
    browser.get(f"{base}/billing/wallet/")
    assert amount_of(browser, "wallet-balance") == D("10") - Decimal(quote["price"])
    assert amount_of(browser, "wallet-held") == 0

    # ... and once more from the app page's own "Try it" panel, at the live price the page shows (now k higher).
    browser.get(f"{base}{app.get_absolute_url()}")
    second_price = amount_of(browser, "live-price")
    assert second_price == D("0.13")
    browser.find_element(By.ID, "try-run").click()
    WebDriverWait(browser, 60).until(lambda b: b.find_element(By.ID, "try-output").text.strip())
    browser.shot("billing-5a-try-it-ran")
    browser.get(f"{base}/billing/wallet/")
    spent = Decimal(quote["price"]) + second_price
    assert amount_of(browser, "wallet-balance") == D("10") - spent
    assert amount_of(browser, "wallet-held") == 0
    browser.shot("billing-5-wallet-after-run")

    # 3. The developer's earnings rose by price × (1 − fee).
    fee = settings.PLATFORM_FEE
    app.owner.set_password(DEFAULT_PASSWORD)
    app.owner.save()
    log_in(browser, base, app.owner.email)
    browser.get(f"{base}/billing/earnings/")
    assert amount_of(browser, "developer-earnings") == spent * (1 - fee)
    browser.shot("billing-6-developer-earnings")

    # 4. The admin's economics report shows the run.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(email="root@example.com", username="root", password="root-pass-123")
    log_in(browser, base, "root@example.com", password="root-pass-123")
    browser.get(f"{base}/admin/billing/economicsreport/")
    table = browser.find_element(By.ID, "economics-table").text
    assert app.name in table and "0.25" in table  # R = 0.12 + 0.13
    assert browser.find_element(By.ID, "ledger-ok")
    browser.shot("billing-7-admin-economics")
    assert Transaction.objects.filter(kind="settle", prediction_id=prediction["id"]).count() == 1
    assert selectors.ledger_check().ok
