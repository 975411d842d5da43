"""Account admin: the Moderator toggle, API keys that never show a hash, a read-only audit log."""
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts.models import ApiKey, AuditLog, User
from accounts.services import api_key_create, audit_log_record
from tests.factories import AppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    admin = User.objects.create_superuser(email="root@example.com", username="root", password="pw-123456789")
    client.force_login(admin)
    client.admin = admin
    return client


def _change_form_data(user: User, **overrides) -> dict:
    data = {"email": user.email, "username": user.username, "is_active": "on",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "bio": "", "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_moderator_toggle_in_the_user_form(admin_client_):
    user = UserFactory()
    response = admin_client_.post(f"/admin/accounts/user/{user.pk}/change/",
                                  _change_form_data(user, is_moderator="on"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    user = User.objects.get(pk=user.pk)
    assert user.is_moderator and user.is_staff and user.has_perm("marketplace.review_app")

    response = admin_client_.post(f"/admin/accounts/user/{user.pk}/change/", _change_form_data(user))
    assert response.status_code == 302
    user = User.objects.get(pk=user.pk)
    assert not user.is_moderator and not user.is_staff


def test_make_moderators_action_and_the_moderator_column(admin_client_):
    users = UserFactory.create_batch(2)
    admin_client_.post("/admin/accounts/user/", {"action": "make_moderators", "index": 0,
                                                 ACTION_CHECKBOX_NAME: [u.pk for u in users]})
    assert all(User.objects.get(pk=u.pk).is_moderator for u in users)
    response = admin_client_.get("/admin/accounts/user/")
    assert response.status_code == 200
    rows = {u.pk: u.in_moderators for u in response.context["cl"].result_list}
    assert rows[users[0].pk] is True and rows[users[1].pk] is True


def test_admin_can_create_a_user_by_email(admin_client_):
    response = admin_client_.post("/admin/accounts/user/add/", {
        "email": "new@example.com", "username": "newbie", "usable_password": "true",
        "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"})
    assert response.status_code == 302
    assert User.objects.get(email="new@example.com").check_password("a-long-pass-phrase-1")


def test_api_key_admin_never_shows_the_hash_and_revokes_through_the_service(admin_client_):
    created = api_key_create(user=UserFactory(), name="prod", scopes=["read"])
    for url in ("/admin/accounts/apikey/", f"/admin/accounts/apikey/{created.api_key.pk}/change/"):
        page = admin_client_.get(url).content.decode()
        assert created.api_key.prefix in page
        assert created.api_key.hashed_key not in page and created.raw_key not in page
    assert admin_client_.get("/admin/accounts/apikey/add/").status_code == 403
    admin_client_.post("/admin/accounts/apikey/", {"action": "revoke", "index": 0,
                                                   ACTION_CHECKBOX_NAME: [created.api_key.pk]})
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at is not None


def test_audit_log_admin_is_read_only_even_for_superusers(admin_client_):
    entry = audit_log_record(actor=admin_client_.admin, action="app.reject", target=AppFactory(), reason="why")
    listing = admin_client_.get("/admin/accounts/auditlog/")
    assert listing.status_code == 200 and "app.reject" in listing.content.decode()
    assert admin_client_.get(f"/admin/accounts/auditlog/{entry.pk}/change/").status_code == 200  # view only
    admin_client_.post(f"/admin/accounts/auditlog/{entry.pk}/change/", {"reason": "rewritten"})
    assert admin_client_.get(f"/admin/accounts/auditlog/{entry.pk}/delete/").status_code == 403
    assert admin_client_.get("/admin/accounts/auditlog/add/").status_code == 403
    assert AuditLog.objects.get(pk=entry.pk).reason == "why"
