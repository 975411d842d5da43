"""A deleted account leaves its organisations (issue 14), unless leaving would strand one: the last owner of an
org with other members, or the only member of an org whose wallet holds money, is refused (409 / a form error)."""
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import ApiKey, Invitation, Membership, Organisation, OrgRole, User
from accounts.org_services import member_invite, org_create
from accounts.services import api_key_create
from billing import services as billing
from billing.selectors import ledger_check, org_balance
from tests.conftest import key_client
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _delete(user):
    return key_client(user).delete("/api/v1/me/", {"password": DEFAULT_PASSWORD}, format="json")


def _org_key(user, org):
    return api_key_create(user=user, name="org key", scopes=["predict"], org=org).api_key


def test_a_member_leaves_and_their_org_keys_are_revoked():
    owner, member = UserFactory(), UserFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=member, role=OrgRole.ADMIN)
    key = _org_key(member, org)
    assert _delete(member).status_code == 204
    assert not Membership.objects.filter(user=member).exists()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert list(Membership.objects.filter(org=org).values_list("user", flat=True)) == [owner.pk]
    assert User.objects.get(pk=member.pk).deleted_at is not None


def test_one_owner_of_several_leaves():
    alice, bob = UserFactory(), UserFactory()
    org = org_create(user=alice, name="Acme")
    Membership.objects.create(org=org, user=bob, role=OrgRole.OWNER)
    assert _delete(alice).status_code == 204
    assert list(Membership.objects.filter(org=org).values_list("user", "role")) == [(bob.pk, "owner")]


def test_the_last_owner_of_an_org_with_members_is_refused_and_nothing_changes():
    owner, member = UserFactory(), UserFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=member, role=OrgRole.MEMBER)
    key = _org_key(owner, org)
    response = _delete(owner)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "last_owner" and "Acme" in error["message"] and "owner" in error["message"]
    owner.refresh_from_db()
    key.refresh_from_db()
    assert owner.deleted_at is None and owner.is_active and key.revoked_at is None
    assert Membership.objects.filter(org=org, user=owner, role="owner").exists()
    # Once someone else is owner, the deletion goes through.
    Membership.objects.filter(user=member).update(role=OrgRole.OWNER)
    assert _delete(owner).status_code == 204
    assert not Membership.objects.filter(user=owner).exists()


def test_the_settings_page_shows_the_refusal_as_a_form_error():
    owner = UserFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=UserFactory(), role=OrgRole.MEMBER)
    client = Client()
    client.force_login(owner)
    response = client.post("/settings/privacy/delete/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "You are the last owner of Acme" in response.content.decode()
    assert client.get("/settings/privacy/").status_code == 200  # still logged in, still there
    assert User.objects.get(pk=owner.pk).deleted_at is None


def test_the_only_member_of_a_funded_org_is_refused_until_the_wallet_is_empty():
    owner = UserFactory()
    org = org_create(user=owner, name="Acme")
    billing.org_credit_grant(org=org, amount="2", memo="seed", granted_by=None)
    response = _delete(owner)
    assert response.status_code == 409 and response.json()["error"]["code"] == "org_wallet_not_empty"
    assert User.objects.get(pk=owner.pk).deleted_at is None and Membership.objects.filter(user=owner).exists()
    assert org_balance(org=org) == (Decimal("2.000000"), Decimal("0"))


def test_the_only_member_of_an_unfunded_org_leaves_it_empty_without_pending_invitations(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = UserFactory()
    org = org_create(user=owner, name="Acme")
    member_invite(actor=owner, org=org, email="someone@example.com", role=OrgRole.OWNER)
    assert _delete(owner).status_code == 204
    assert Organisation.objects.filter(pk=org.pk).exists()
    assert not Membership.objects.filter(org=org).exists()
    assert not Invitation.objects.filter(org=org).exists()
    assert not ApiKey.objects.filter(user=owner, revoked_at__isnull=True).exists()
    assert ledger_check().ok
