"""The organisation wallet page in Chromium: a billing member tops up the org's wallet through (fake) Stripe
Checkout (credited by the webhook), sets the org's monthly budget, and connects the org's own Stripe account for
its apps' earnings; the page fits a phone."""
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from billing import selectors
from billing.models import OrgWallet
from tests.browser.helpers import fill, log_in, wait_text
from tests.browser.test_billing_flow import amount_of, stripe_server  # noqa: F401 - fixture
from tests.factories import UserFactory
from tests.helpers import celery_eager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


def test_billing_member_tops_up_budgets_and_connects_the_org(live_server, browser, stripe_server,  # noqa: F811
                                                               settings):
    from accounts.models import Membership
    from accounts.org_services import org_create

    base = live_server.url
    settings.SITE_URL = base
    owner, billing = UserFactory(), UserFactory(email="billing@org.test")
    org = org_create(user=owner, name="Acme Research")
    Membership.objects.create(org=org, user=billing, role="billing")
    url = f"{base}/billing/orgs/{org.slug}/wallet/"

    with celery_eager():
        log_in(browser, base, billing.email)
        browser.get(url)
        assert amount_of(browser, "org-wallet-balance") == 0
        fill(browser, "amount", "20")
        browser.shot("org-wallet-1-topup")
        browser.find_element(By.ID, "topup-submit").click()
        WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "pay")))
        assert "20.00 USD" in browser.find_element(By.ID, "amount").text
        browser.find_element(By.ID, "pay").click()
        WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.ID, "org-wallet-balance")))
    assert [status for _event, status in stripe_server.deliveries] == [200]
    assert amount_of(browser, "org-wallet-balance") == D("20")
    assert selectors.org_balance(org=org) == (D("20"), D("0"))
    assert selectors.user_balance(user=billing) == 0

    fill(browser, "monthly_budget", "50")
    browser.find_element(By.ID, "budget-submit").click()
    wait_text(browser, "monthly budget is saved")
    assert OrgWallet.objects.get(org=org).monthly_budget == D("50")
    assert "0% of the organisation" in browser.find_element(By.ID, "org-wallet-budget").text
    browser.shot("org-wallet-2-credited-and-budgeted")

    browser.find_element(By.ID, "org-connect-onboard").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "finish")))
    browser.find_element(By.ID, "finish").click()
    wait_text(browser, "payout account is ready")
    assert OrgWallet.objects.get(org=org).payouts_enabled
    assert "Stripe account ready" in browser.find_element(By.ID, "org-payout-account").text
    browser.shot("org-wallet-3-payouts-ready")

    browser.set_window_size(390, 844)
    browser.get(url)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 391
    browser.shot("org-wallet-4-phone")
