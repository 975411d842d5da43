"""Issue 14 end to end in a real browser: a developer creates an organisation and invites a member; the member
makes an org API key and runs the developer's paid app with it (charged to the org wallet); the developer sees
the call in the app's usage dashboard chart after the rollup."""
import datetime as dt
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.helpers import fill, log_in, wait_text
from tests.inference.conftest import tiny_models  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def org_world(transactional_db, tiny_models):  # noqa: F811 - the fixture imported above
    from marketplace.models import AppStatus
    from tests.factories import DeveloperFactory, PaidAppFactory, UserFactory
    from tests.inference.conftest import ready_version

    owner = DeveloperFactory(email="owner@org.test", username="orgowner")
    member = UserFactory(email="member@org.test", username="orgmember")
    app = PaidAppFactory(owner=owner, slug="org-sentiment", name="Org Sentiment", status=AppStatus.PUBLISHED)
    version = ready_version(app, tiny_models["classifier"], task="text-classification")
    assert version.status == "ready", version.error
    return owner, member, app


def test_org_member_runs_an_app_with_an_org_key_and_the_owner_sees_the_call(live_server, browser, org_world,
                                                                          eager_celery):
    from accounts.models import Organisation
    from analytics.services import usage_rollup
    from billing.services.orgs import org_credit_grant
    from inference.models import Prediction
    from marketplace.services import app_acquire

    owner, member, app = org_world
    base = live_server.url

    # The owner creates the organisation and invites an existing user, who joins at once.
    log_in(browser, base, owner.email)
    browser.get(f"{base}/orgs/")
    fill(browser, "name", "Acme Research")
    browser.find_element(By.CSS_SELECTOR, "#org-create button[type=submit]").click()
    wait_text(browser, "Acme Research")
    org = Organisation.objects.get(name="Acme Research")
    browser.get(f"{base}/orgs/{org.slug}/members/")
    fill(browser, "email", member.email)
    Select(browser.find_element(By.ID, "invite-role")).select_by_value("member")
    browser.find_element(By.CSS_SELECTOR, "#org-invite button[type=submit]").click()
    wait_text(browser, member.username)
    browser.shot("org-01-members")
    assert org.memberships.filter(user=member, role="member").exists()
    org_credit_grant(org=org, amount=Decimal("5.00"), memo="browser test", granted_by=None)

    # The member makes a key charged to the organisation and runs the app with it over the API.
    app_acquire(user=member, app=app)
    log_in(browser, base, member.email)
    browser.get(f"{base}/settings/keys/")
    fill(browser, "name", "team key")
    Select(browser.find_element(By.CSS_SELECTOR, "main form select[name=org]")).select_by_value(org.slug)
    browser.find_element(By.ID, "create-key").click()
    raw_key = browser.find_element(By.ID, "raw-key").text.strip()
    browser.shot("org-02-org-key")
    answer = requests.post(f"{base}/api/v1/apps/{app.slug}/predictions/", timeout=60,
                           headers={"Authorization": f"Bearer {raw_key}", "Prefer": "wait=30"},
                           json={"input": {"text": "profits climbed sharply"}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "succeeded", answer.json()
    prediction = Prediction.objects.get(pk=answer.json()["id"])
    assert prediction.user_id == member.pk and prediction.price > 0
    # Charged to the organisation's wallet, not the member's own.
    org.wallet.refresh_from_db()
    assert org.wallet.balance == Decimal("5.00") - prediction.price and org.wallet.held == 0
    from billing.models import Wallet

    assert Wallet.objects.filter(user=member).values_list("balance", flat=True).first() in (None, Decimal("0"))

    # The owner sees the org wallet and, after the rollup, the call in the app's dashboard chart.
    log_in(browser, base, owner.email)
    browser.get(f"{base}/billing/orgs/{org.slug}/wallet/")
    browser.shot("org-03-org-wallet")
    assert "Acme Research" in browser.find_element(By.TAG_NAME, "main").text
    today = timezone.localdate()
    usage_rollup(start=today - dt.timedelta(days=1), end=today)
    browser.get(f"{base}/console/apps/{app.slug}/usage/")
    assert browser.find_element(By.ID, "total-calls").text.strip() == "1"
    row = browser.find_element(By.CSS_SELECTOR, f'#usage-table tr[data-date="{today:%Y-%m-%d}"]')
    assert row.find_elements(By.TAG_NAME, "td")[1].text.strip() == "1"
    chart = browser.find_element(By.CSS_SELECTOR, "#chart-calls svg")
    assert chart.find_elements(By.CSS_SELECTOR, "rect, path, polyline")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", chart)
    browser.shot("org-04-usage-dashboard")
    browser.set_window_size(390, 844)  # a phone: the dashboard fits the screen (wide tables scroll in their card)
    browser.get(f"{base}/console/apps/{app.slug}/usage/")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 391
    browser.shot("org-05-usage-dashboard-phone")
    assert browser.console_errors() == []
