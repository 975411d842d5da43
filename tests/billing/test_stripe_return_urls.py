"""Stripe return URLs are built from SITE_URL: a forged Host header cannot send buyers elsewhere."""
import pytest


@pytest.mark.django_db
def test_stripe_return_urls_come_from_site_url_not_the_host_header(client, settings, fake_stripe):
    from billing.models import TopUp
    from tests.factories import UserFactory

    settings.SITE_URL = "https://market.example"
    settings.ALLOWED_HOSTS = ["*"]
    user = UserFactory()
    client.force_login(user)
    response = client.post("/billing/wallet/", {"action": "topup", "amount": "10.00"}, HTTP_HOST="evil.example")
    assert response.status_code == 302, response.content[:500]
    topup = TopUp.objects.get(user=user)
    session = fake_stripe.objects[topup.session_id]
    assert session["success_url"].startswith("https://market.example/")
    assert session["cancel_url"].startswith("https://market.example/")
    assert "evil.example" not in session["success_url"] + session["cancel_url"]
