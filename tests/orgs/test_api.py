"""Organisations API (shared/API.md, second wave): orgs, members, invitations, the last owner."""
import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, OrgRole
from tests.conftest import key_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _org(client, name="Acme Labs"):
    response = client.post("/api/v1/orgs/", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_and_list_mine():
    alice, bob = UserFactory(), UserFactory()
    ac, bc = key_client(alice), key_client(bob)
    org = _org(ac)
    assert org == {"slug": "acme-labs", "name": "Acme Labs", "role": "owner"}
    assert _org(bc)["slug"] == "acme-labs-2"  # same name, another org
    assert [o["slug"] for o in ac.get("/api/v1/orgs/").json()["results"]] == ["acme-labs"]
    bad = ac.post("/api/v1/orgs/", {"name": ""}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["name"]


def test_someone_elses_org_answers_404():
    alice, bob = UserFactory(), UserFactory()
    org = _org(key_client(alice))
    bc = key_client(bob)
    assert bc.get(f"/api/v1/orgs/{org['slug']}/members/").status_code == 404
    response = bc.post(f"/api/v1/orgs/{org['slug']}/members/", {"email": bob.email, "role": "owner"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    member = Membership.objects.get(user=alice)
    assert bc.patch(f"/api/v1/orgs/{org['slug']}/members/{member.pk}/", {"role": "member"},
                    format="json").status_code == 404
    assert bc.delete(f"/api/v1/orgs/{org['slug']}/members/{member.pk}/").status_code == 404


def test_invite_existing_user_joins_at_once():
    alice, bob = UserFactory(), UserFactory()
    ac = key_client(alice)
    org = _org(ac)
    response = ac.post(f"/api/v1/orgs/{org['slug']}/members/", {"email": bob.email.upper(), "role": "developer"},
                       format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active" and response.json()["role"] == "developer"
    assert Membership.objects.get(user=bob).role == OrgRole.DEVELOPER
    again = ac.post(f"/api/v1/orgs/{org['slug']}/members/", {"email": bob.email, "role": "member"}, format="json")
    assert again.status_code == 409
    assert [o["role"] for o in key_client(bob).get("/api/v1/orgs/").json()["results"]] == ["developer"]
    listed = ac.get(f"/api/v1/orgs/{org['slug']}/members/").json()["results"]
    assert [(m["email"], m["role"]) for m in listed] == [(alice.email, "owner"), (bob.email, "developer")]


def test_invite_by_email_then_sign_up_and_accept(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice = UserFactory()
    ac = key_client(alice)
    org = _org(ac)
    with django_capture_on_commit_callbacks(execute=True):
        response = ac.post(f"/api/v1/orgs/{org['slug']}/members/", {"email": "new@example.com", "role": "billing"},
                           format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "invited" and response.json()["id"] is None
    invitation = Invitation.objects.get(email="new@example.com")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    link = f"/orgs/invitations/{invitation.token}/"
    assert link in mail.outbox[0].body
    anonymous = Client()
    assert anonymous.get(link).status_code == 200  # sign up (joins at once) or log in first
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(link).status_code == 404  # someone else's invitation
    assert stranger.post(link).status_code == 404
    assert not Membership.objects.filter(org__slug=org["slug"], role="billing").exists()
    newcomer = UserFactory(email="new@example.com")
    browser = Client()
    browser.force_login(newcomer)
    assert browser.get(link).status_code == 200
    response = browser.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(user=newcomer).role == OrgRole.BILLING
    used = browser.post(link)  # used: the page says so, nothing else happens
    assert used.status_code == 200 and "already used" in used.content.decode()
    assert Membership.objects.filter(user=newcomer).count() == 1


def test_expired_invitation_does_not_join():
    alice = UserFactory()
    org = _org(key_client(alice))
    key_client(alice).post(f"/api/v1/orgs/{org['slug']}/members/", {"email": "late@example.com"}, format="json")
    invitation = Invitation.objects.get(email="late@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))
    from accounts.org_services import invitation_accept
    from config.errors import Conflict

    with pytest.raises(Conflict):
        invitation_accept(user=UserFactory(email="late@example.com"), token=invitation.token)


def test_roles_decide_member_management():
    alice, admin, member, other = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    ac = key_client(alice)
    slug = _org(ac)["slug"]
    for user, role in ((admin, "admin"), (member, "member"), (other, "member")):
        assert ac.post(f"/api/v1/orgs/{slug}/members/", {"email": user.email, "role": role},
                       format="json").status_code == 201
    owner_m, admin_m, member_m, other_m = (Membership.objects.get(user=u) for u in (alice, admin, member, other))
    mc, adc = key_client(member), key_client(admin)
    # A member may not invite, change roles or remove others; they may leave.
    assert mc.post(f"/api/v1/orgs/{slug}/members/", {"email": "x@example.com"}, format="json").status_code == 403
    assert mc.patch(f"/api/v1/orgs/{slug}/members/{other_m.pk}/", {"role": "admin"},
                    format="json").status_code == 403
    assert mc.delete(f"/api/v1/orgs/{slug}/members/{other_m.pk}/").status_code == 403
    # An admin manages members but not owners.
    assert adc.patch(f"/api/v1/orgs/{slug}/members/{other_m.pk}/", {"role": "billing"},
                     format="json").json()["role"] == "billing"
    assert adc.patch(f"/api/v1/orgs/{slug}/members/{other_m.pk}/", {"role": "owner"},
                     format="json").status_code == 403
    assert adc.patch(f"/api/v1/orgs/{slug}/members/{owner_m.pk}/", {"role": "member"},
                     format="json").status_code == 403
    assert adc.delete(f"/api/v1/orgs/{slug}/members/{owner_m.pk}/").status_code == 403
    assert adc.patch(f"/api/v1/orgs/{slug}/members/{other_m.pk}/", {"role": "chief"},
                     format="json").status_code == 400
    assert adc.delete(f"/api/v1/orgs/{slug}/members/{other_m.pk}/").status_code == 204
    assert mc.delete(f"/api/v1/orgs/{slug}/members/{member_m.pk}/").status_code == 204  # leaving
    assert not Membership.objects.filter(pk__in=[other_m.pk, member_m.pk]).exists()
    assert admin_m.pk in Membership.objects.values_list("pk", flat=True)


def test_the_last_owner_cannot_leave_or_be_demoted():
    alice, bob = UserFactory(), UserFactory()
    ac = key_client(alice)
    slug = _org(ac)["slug"]
    owner_m = Membership.objects.get(user=alice)
    demote = ac.patch(f"/api/v1/orgs/{slug}/members/{owner_m.pk}/", {"role": "admin"}, format="json")
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_owner"
    leave = ac.delete(f"/api/v1/orgs/{slug}/members/{owner_m.pk}/")
    assert leave.status_code == 409 and leave.json()["error"]["code"] == "last_owner"
    ac.post(f"/api/v1/orgs/{slug}/members/", {"email": bob.email, "role": "owner"}, format="json")
    assert ac.patch(f"/api/v1/orgs/{slug}/members/{owner_m.pk}/", {"role": "admin"}, format="json").status_code == 200
    bob_m = Membership.objects.get(user=bob)
    assert key_client(bob).delete(f"/api/v1/orgs/{slug}/members/{bob_m.pk}/").status_code == 409
    assert Membership.objects.filter(role="owner").count() == 1


def test_read_scope_key_cannot_write():
    alice = UserFactory()
    read_only = key_client(alice, scopes=("read",))
    assert read_only.post("/api/v1/orgs/", {"name": "X"}, format="json").status_code == 403
    assert read_only.get("/api/v1/orgs/").status_code == 200


def test_schema_has_operation_ids_and_tags():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = {op["operationId"]: op for path in schema["paths"].values() for op in path.values()
           if isinstance(op, dict) and "operationId" in op}
    for op_id in ("orgs_list", "orgs_create", "orgs_members_list", "orgs_members_invite", "orgs_members_update",
                  "orgs_members_remove"):
        assert ops[op_id]["tags"] == ["orgs"]


def test_spend_caps_by_role():
    alice, bill, dev = UserFactory(), UserFactory(), UserFactory()
    ac = key_client(alice)
    slug = _org(ac)["slug"]
    ac.post(f"/api/v1/orgs/{slug}/members/", {"email": bill.email, "role": "billing"}, format="json")
    ac.post(f"/api/v1/orgs/{slug}/members/", {"email": dev.email, "role": "developer"}, format="json")
    dev_m = Membership.objects.get(user=dev)
    url = f"/api/v1/orgs/{slug}/members/{dev_m.pk}/"
    response = key_client(bill).patch(url, {"spend_cap": "2.5"}, format="json")
    assert response.status_code == 200 and response.json()["spend_cap"] == "2.500000"
    assert key_client(bill).patch(url, {"role": "member"}, format="json").status_code == 403  # caps, not roles
    assert key_client(dev).patch(url, {"spend_cap": None}, format="json").status_code == 403
    assert ac.patch(url, {"spend_cap": "-1"}, format="json").status_code == 400
    assert ac.patch(url, {"spend_cap": None, "role": "admin"}, format="json").json()["spend_cap"] is None
    assert Membership.objects.get(pk=dev_m.pk).role == "admin"
