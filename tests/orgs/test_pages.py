"""Organisation pages: create, switch, members (invite, change role, remove)."""
import pytest
from django.test import Client

from accounts.models import Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_create_invite_change_role_remove_and_switch():
    alice, bob = UserFactory(), UserFactory()
    ac = _client(alice)
    assert ac.get("/orgs/").status_code == 200
    response = ac.post("/orgs/", {"name": "Acme"})
    assert response.status_code == 302 and response["Location"] == "/orgs/acme/members/"
    assert ac.session["current_org"] == "acme"
    ac.post("/orgs/acme/members/", {"email": bob.email, "role": "developer"})
    bob_m = Membership.objects.get(user=bob)
    assert bob_m.role == "developer"
    page = ac.get("/orgs/acme/members/").content.decode()
    assert bob.email in page and 'id="org-invite"' in page
    ac.post(f"/orgs/acme/members/{bob_m.pk}/", {"role": "billing"})
    assert Membership.objects.get(pk=bob_m.pk).role == "billing"
    # Bob sees the members but cannot manage them.
    bc = _client(bob)
    assert 'id="org-invite"' not in bc.get("/orgs/acme/members/").content.decode()
    bc.post(f"/orgs/acme/members/{Membership.objects.get(user=alice).pk}/", {"remove": "1"})
    assert Membership.objects.filter(user=alice).exists()
    # Switch: to a member's org, back to personal; someone else's org is a 404.
    assert bc.post("/orgs/switch/", {"org": "acme"}).status_code == 302 and bc.session["current_org"] == "acme"
    bc.post("/orgs/switch/", {"org": ""})
    assert "current_org" not in bc.session
    assert _client(UserFactory()).post("/orgs/switch/", {"org": "acme"}).status_code == 404
    ac.post(f"/orgs/acme/members/{bob_m.pk}/", {"remove": "1"})
    assert not Membership.objects.filter(user=bob).exists()
    # The last owner cannot leave: the page says so and the membership stays.
    response = ac.post(f"/orgs/acme/members/{Membership.objects.get(user=alice).pk}/", {"remove": "1"}, follow=True)
    assert Membership.objects.filter(user=alice).exists()
    assert "needs an owner" in response.content.decode()


def test_the_switcher_is_in_the_menu_and_next_stays_on_this_site():
    alice = UserFactory()
    client = _client(alice)
    assert 'id="org-switcher"' not in client.get("/orgs/").content.decode()
    client.post("/orgs/", {"name": "Acme"})
    page = client.get("/orgs/").content.decode()
    assert 'id="org-switcher"' in page and '<option value="acme" selected>Acme</option>' in page
    assert client.post("/orgs/switch/", {"org": "acme", "next": "/billing/wallet/"})["Location"] == "/billing/wallet/"
    assert client.post("/orgs/switch/", {"org": "acme", "next": "https://evil.example/"})["Location"] == "/orgs/"


def test_org_wallet_page_by_role():
    from billing import services

    alice, member, billing = UserFactory(), UserFactory(), UserFactory()
    _client(alice).post("/orgs/", {"name": "Acme"})
    org = Membership.objects.get(user=alice).org
    Membership.objects.create(org=org, user=member, role="member")
    Membership.objects.create(org=org, user=billing, role="billing")
    services.org_credit_grant(org=org, amount="4", memo="Seed credits", granted_by=None)
    page = _client(billing).get("/billing/orgs/acme/wallet/")
    assert page.status_code == 200 and "Seed credits" in page.content.decode()
    assert _client(member).get("/billing/orgs/acme/wallet/").status_code == 403
    assert _client(UserFactory()).get("/billing/orgs/acme/wallet/").status_code == 404
    members_page = _client(alice).get("/orgs/acme/members/").content.decode()
    assert "/billing/orgs/acme/wallet/" in members_page


def test_api_keys_page_makes_an_org_key():
    from accounts.models import ApiKey

    alice = UserFactory()
    client = _client(alice)
    assert 'name="org"' not in client.get("/settings/keys/").content.decode()  # no orgs: no choice
    client.post("/orgs/", {"name": "Acme"})
    page = client.get("/settings/keys/").content.decode()
    assert '<option value="acme" selected>Acme</option>' in page  # the current org is preselected
    response = client.post("/settings/keys/", {"name": "team", "scopes": ["predict"], "org": "acme"})
    assert response.status_code == 302
    assert ApiKey.objects.get(name="team").org.slug == "acme"
    client.post("/settings/keys/", {"name": "mine", "scopes": ["predict"], "org": ""})
    assert ApiKey.objects.get(name="mine").org is None
    forged = client.post("/settings/keys/", {"name": "x", "scopes": ["predict"], "org": "elsewhere"})
    assert forged.status_code == 400 and not ApiKey.objects.filter(name="x").exists()
