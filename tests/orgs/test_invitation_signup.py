"""Invitations accepted at sign-up (issue 14), through allauth's real sign-up and confirmation views.

Someone who follows an invitation link while logged out and signs up with the invited address joins at once
(the token in the session is the proof); an address reached without the link joins only once verified.
"""
import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, OrgRole, User
from accounts.org_services import member_invite, org_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-and-unusual-passphrase-42"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def org():
    return org_create(user=UserFactory(), name="Acme")


def _invite(org, email: str, role: str = OrgRole.DEVELOPER) -> Invitation:
    owner = Membership.objects.get(org=org, role=OrgRole.OWNER).user
    invitation = member_invite(actor=owner, org=org, email=email, role=role).invitation
    assert invitation is not None
    return invitation


def _sign_up(client: Client, email: str, username: str = "newcomer"):
    return client.post("/accounts/signup/", {"email": email, "username": username, "password1": PASSWORD,
                                             "password2": PASSWORD}, follow=True)


def _confirmation_link() -> str:
    found = re.search(r"(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def test_following_the_link_then_signing_up_joins_at_once(org):
    invitation = _invite(org, "new@example.com")
    browser = Client()
    page = browser.get(f"/orgs/invitations/{invitation.token}/")
    assert page.status_code == 200 and 'id="invitation-signup"' in page.content.decode()
    assert browser.session["org_invitation_token"] == invitation.token
    stranger = Client()
    assert stranger.get("/orgs/invitations/not-a-token/").status_code == 404
    assert "org_invitation_token" not in stranger.session
    response = _sign_up(browser, "new@example.com")
    user = User.objects.get(email="new@example.com")
    assert Membership.objects.get(org=org, user=user).role == OrgRole.DEVELOPER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert "You joined Acme." in response.content.decode()
    assert browser.session["current_org"] == org.slug and "org_invitation_token" not in browser.session


def test_the_link_joins_even_when_verification_is_mandatory(org, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    invitation = _invite(org, "strict@example.com")
    browser = Client()
    browser.get(f"/orgs/invitations/{invitation.token}/")
    _sign_up(browser, "strict@example.com")
    user = User.objects.get(email="strict@example.com")
    assert not user.emailaddress_set.filter(verified=True).exists()  # not verified: the token was the proof
    assert Membership.objects.filter(org=org, user=user).exists()


def test_the_link_does_not_join_an_account_of_another_address(org):
    invitation = _invite(org, "invited@example.com")
    browser = Client()
    browser.get(f"/orgs/invitations/{invitation.token}/")
    response = _sign_up(browser, "someone-else@example.com")
    assert not Membership.objects.filter(org=org, user__email="someone-else@example.com").exists()
    assert "sent to another email address" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None and "org_invitation_token" not in browser.session


def test_without_the_link_an_invitation_is_accepted_only_once_the_address_is_verified(org):
    invitation = _invite(org, "later@example.com", role=OrgRole.BILLING)
    expired = _invite(org_create(user=UserFactory(), name="Old Co"), "later@example.com")
    Invitation.objects.filter(pk=expired.pk).update(expires=timezone.now() - dt.timedelta(minutes=1))
    browser = Client()
    _sign_up(browser, "later@example.com")  # straight to sign-up: no token
    user = User.objects.get(email="later@example.com")
    assert not Membership.objects.filter(user=user).exists()  # unverified: nothing joined
    link = _confirmation_link()
    assert browser.get(link).status_code == 200  # the confirmation page; POST confirms
    response = browser.post(link, follow=True)
    assert user.emailaddress_set.get(email="later@example.com").verified
    assert list(Membership.objects.filter(user=user).values_list("org__slug", "role")) == [(org.slug, "billing")]
    invitation.refresh_from_db()
    expired.refresh_from_db()
    assert invitation.accepted_at is not None and expired.accepted_at is None
    assert "You joined Acme." in response.content.decode()


def test_a_verified_address_of_someone_else_is_not_a_way_in(org):
    """Confirming one's own address accepts only invitations to that address."""
    _invite(org, "target@example.com")
    browser = Client()
    _sign_up(browser, "intruder@example.com", username="intruder")
    browser.post(_confirmation_link())
    intruder = User.objects.get(email="intruder@example.com")
    assert intruder.emailaddress_set.get().verified
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get(email="target@example.com").accepted_at is None
