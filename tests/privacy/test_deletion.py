"""Account deletion: personal data erased, the ledger kept, anonymised and balanced, forum posts by "deleted user"."""
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from billing import services as billing
from billing.selectors import ledger_check
from community.models import ForumCategory
from community.services import thread_create
from inference.models import Prediction
from marketplace.models import AppStatus
from tests.conftest import key_client
from tests.factories import DEFAULT_PASSWORD, AppFactory, AppVersionFactory, LibraryEntryFactory, PaidAppFactory

from .conftest import finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(caller, app):
    """Money in, a paid call settled, a call still held, a forum thread, a published app of their own."""
    billing.credit_grant(user=caller, amount=Decimal("5.00"), memo="welcome credit", granted_by=None)
    paid = PaidAppFactory(base_price=Decimal("0.010000"), k=Decimal("0"), max_price=Decimal("0.010000"))
    AppVersionFactory(app=paid, version="1.0.0", status="ready")
    LibraryEntryFactory(user=caller, app=paid)
    for settle in (True, False):
        with transaction.atomic():
            prediction = Prediction.objects.create(app=paid, version=paid.versions.get(), user=caller,
                                                   input={"text": "paid words"})
            prediction.price = billing.prediction_admit(prediction=prediction).price
            prediction.save(update_fields=["price"])
        if settle:
            Prediction.objects.filter(pk=prediction.pk).update(status="succeeded", output={"labels": ["y"]})
            prediction.refresh_from_db()
            billing.prediction_settle(prediction=prediction)
    finished(app, caller, text="private words")
    category, _ = ForumCategory.objects.get_or_create(slug="general", defaults={"name": "General"})
    thread = thread_create(author=caller, category=category, title="Hello forum", body="My post stays.",
                           kind="discussion")
    caller.is_developer = True
    caller.save(update_fields=["is_developer"])
    own = AppFactory(owner=caller, status=AppStatus.PUBLISHED)
    from marketplace.models import Review

    Review.objects.create(app=app, user=caller, rating=4, text="Good app.")
    return {"thread": thread, "own_app": own, "reviewed": app}


def test_deletion_erases_personal_data_and_keeps_the_ledger_balanced(caller, history):
    assert ledger_check().ok
    assert key_client(caller, scopes=("read",)).delete("/api/v1/me/", {"password": DEFAULT_PASSWORD},
                                                      format="json").status_code == 403  # a read key may not
    client = key_client(caller, scopes=("read", "predict", "publish"))
    wallet_before = caller.wallet.balance
    email = caller.email
    response = client.delete("/api/v1/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content

    report = ledger_check()
    assert report.ok, report.problems
    user = User.objects.get(pk=caller.pk)
    assert user.deleted_at and not user.is_active and not user.has_usable_password()
    assert user.email != email and "@" in user.email and user.username.startswith("deleted-")
    assert user.bio == "" and user.wallet.balance == wallet_before  # the wallet and its postings stay
    assert not ApiKey.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert not Prediction.objects.filter(user=user, data_removed=False).exists()
    assert not Prediction.objects.filter(user=user, status__in=["queued", "starting", "processing"]).exists()
    history["own_app"].refresh_from_db()
    assert history["own_app"].status == AppStatus.SUSPENDED

    # The user cannot log in, with the old email or any key.
    assert authenticate(email=email, password=DEFAULT_PASSWORD) is None
    assert authenticate(username=email, password=DEFAULT_PASSWORD) is None
    assert client.get("/api/v1/me/").status_code == 401
    login = APIClient().post("/accounts/login/", {"login": email, "password": DEFAULT_PASSWORD})
    assert login.status_code != 302

    # The forum shows "deleted user".
    thread = history["thread"]
    html = APIClient().get(thread.get_absolute_url()).content.decode()
    assert "My post stays." in html and "deleted user" in html and user.username not in html
    posts = APIClient().get(f"/api/v1/forum/threads/{thread.pk}/posts/").json()
    assert posts["results"][0]["author"] == "deleted user"
    assert APIClient().get(f"/api/v1/forum/threads/{thread.pk}/").json()["author"] == "deleted user"
    # Reviews stay too, by "deleted user".
    reviews = APIClient().get(f"/api/v1/apps/{history['reviewed'].slug}/reviews/").json()
    assert [r["user"] for r in reviews["results"]] == ["deleted user"]
    assert "deleted user" in APIClient().get(history["reviewed"].get_absolute_url()).content.decode()


def test_a_wrong_password_is_400_with_the_error_shape_and_changes_nothing(caller, history):
    client = key_client(caller, scopes=("read", "predict", "publish"))
    response = client.delete("/api/v1/me/", {"password": "not it"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "wrong_password" and error["message"] and error["fields"]["password"]
    assert client.delete("/api/v1/me/", {}, format="json").status_code == 400
    caller.refresh_from_db()
    assert caller.is_active and caller.deleted_at is None
    assert client.get("/api/v1/me/").json()["email"] == caller.email  # GET /me/ is unchanged


def test_the_settings_page_deletes_with_the_password_and_logs_out_every_session(client, caller, history):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(caller)  # another browser
    assert elsewhere.get("/settings/privacy/").status_code == 200
    client.force_login(caller)
    wrong = client.post("/settings/privacy/delete/", {"password": "nope"})
    assert wrong.status_code == 400 and "The password is not correct." in wrong.content.decode()
    done = client.post("/settings/privacy/delete/", {"password": DEFAULT_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/settings/privacy/").status_code == 302  # logged out: the login page
    assert elsewhere.get("/settings/privacy/").status_code == 302  # the other session is dropped too
    from django.contrib.sessions.models import Session

    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(caller.pk)]
    caller.refresh_from_db()
    assert caller.deleted_at is not None
    assert ledger_check().ok
