"""Changes after approval: a new version or a pricing change waits for a moderator; quotes keep their price."""
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import PermissionDenied
from marketplace.models import AppStatus, VersionStatus
from marketplace.services import app_review, app_update, app_version_create
from tests.factories import AppFactory, ModeratorFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_app(db):
    app = PaidAppFactory(status=AppStatus.PUBLISHED, published_at=timezone.now())
    app_version_create(app=app, actor=app.owner, version="1.0.0", status=VersionStatus.READY, held_for_review=False)
    return app


def _quote(user, app) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/apps/{app.slug}/quote/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_pricing_change_is_held_until_a_moderator_approves_it(approved_app):
    buyer, moderator = UserFactory(), ModeratorFactory()
    before = _quote(buyer, approved_app)
    app_update(app=approved_app, data={"pricing": {"base_price": "0.040000", "max_price": "0.090000"}})
    approved_app.refresh_from_db()
    assert approved_app.base_price == Decimal("0.010000")  # buyers still pay the approved price
    assert approved_app.pending_pricing["base_price"] == "0.040000"
    assert Decimal(_quote(buyer, approved_app)["price"]) == Decimal(before["price"])

    app_review(app=approved_app, moderator=moderator, decision="approve")
    approved_app.refresh_from_db()
    assert approved_app.base_price == Decimal("0.040000") and approved_app.pending_pricing is None
    assert approved_app.status == AppStatus.PUBLISHED
    assert Decimal(_quote(buyer, approved_app)["price"]) >= Decimal("0.040000")


def test_a_rejected_pricing_change_is_dropped(approved_app):
    app_update(app=approved_app, data={"pricing": {"base_price": "0.040000", "max_price": "0.090000"}})
    with pytest.raises(Exception, match="reason"):
        app_review(app=approved_app, moderator=ModeratorFactory(), decision="reject")
    app_review(app=approved_app, moderator=ModeratorFactory(), decision="reject", reason="Too steep")
    approved_app.refresh_from_db()
    assert approved_app.pending_pricing is None and approved_app.base_price == Decimal("0.010000")
    assert approved_app.status == AppStatus.PUBLISHED


def test_a_quote_given_before_the_change_stays_honoured(approved_app):
    from billing.services import prediction_admit
    from tests.billing.conftest import fund, new_prediction

    buyer = UserFactory()
    fund(buyer, "5")
    quote = _quote(buyer, approved_app)
    app_update(app=approved_app, data={"pricing": {"base_price": "0.040000", "max_price": "0.090000"}})
    app_review(app=approved_app, moderator=ModeratorFactory(), decision="approve")
    admission = prediction_admit(prediction=new_prediction(buyer, approved_app), quote_id=quote["quote_id"])
    assert admission.price == Decimal(quote["price"]) < Decimal("0.040000")


def test_a_new_version_runs_for_its_owner_only_until_approved(approved_app):
    from inference.services.predictions import _pick_version

    new = app_version_create(app=approved_app, actor=approved_app.owner, version="2.0.0", status=VersionStatus.READY)
    assert new.held_for_review is True
    stranger = UserFactory()
    assert _pick_version(approved_app, None, stranger).version == "1.0.0"
    assert _pick_version(approved_app, None, approved_app.owner).version == "2.0.0"
    with pytest.raises(Exception, match="not ready"):
        _pick_version(approved_app, "2.0.0", stranger)
    app_review(app=approved_app, moderator=ModeratorFactory(), decision="approve")
    new.refresh_from_db()
    assert new.held_for_review is False
    assert _pick_version(approved_app, "2.0.0", stranger) == new


def test_held_changes_appear_in_the_moderators_queue(approved_app, client):
    moderator = ModeratorFactory(is_staff=True)
    client.force_login(moderator)
    page = client.get("/admin/marketplace/appreviewqueue/")
    assert approved_app.name not in page.content.decode()
    app_version_create(app=approved_app, actor=approved_app.owner, version="2.0.0", status=VersionStatus.READY)
    page = client.get("/admin/marketplace/appreviewqueue/")
    assert page.status_code == 200 and approved_app.name in page.content.decode()


def test_drafts_and_unapproved_apps_change_freely():
    app = PaidAppFactory(status=AppStatus.DRAFT)
    app_update(app=app, data={"pricing": {"base_price": "0.040000", "max_price": "0.090000"}})
    app.refresh_from_db()
    assert app.base_price == Decimal("0.040000") and app.pending_pricing is None
    assert app_version_create(app=app, actor=app.owner, version="1.0.0").held_for_review is False


def test_moderators_cannot_review_their_own_apps():
    moderator = ModeratorFactory(is_developer=True)
    app = AppFactory(owner=moderator, status=AppStatus.IN_REVIEW)
    with pytest.raises(PermissionDenied):
        app_review(app=app, moderator=moderator, decision="approve")
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW
    client = APIClient()
    client.force_authenticate(moderator)
    response = client.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "approve"}, format="json")
    assert response.status_code == 403
    app_review(app=app, moderator=ModeratorFactory(), decision="approve")
    app.refresh_from_db()
    assert app.status == AppStatus.PUBLISHED
