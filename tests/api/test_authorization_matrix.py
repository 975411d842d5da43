"""The authorization matrix: every object kind × action × role → the expected status, from ONE table.

Roles: anonymous, another user (a developer, so role checks do not hide ownership checks), the owner, a
moderator and a superuser. API callers use a full-scope API key, page callers a logged-in session (with CSRF
tokens off: CSRF has its own test). Someone else's private object answers 404, never 403, so its existence
does not leak; anonymous API calls answer 401 and anonymous pages redirect to the login page (302).
"""
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.services import api_key_create
from billing import services as billing
from inference.models import Prediction, WebhookDelivery
from marketplace.models import AppStatus
from tests.conftest import key_client
from tests.factories import (
    AppFactory,
    AppVersionFactory,
    DeveloperFactory,
    LibraryEntryFactory,
    ModeratorFactory,
    PaidAppFactory,
)
from training.models import JobStatus, TrainingJob

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "other", "owner", "moderator", "superuser")


@dataclass(frozen=True)
class Cell:
    kind: str          # the object kind from issue 11's list
    action: str
    method: str
    url: str           # formatted with the world's ids
    expect: tuple      # status per role, in ROLES order
    body: dict | None = None
    page: bool = False
    changed: tuple | None = None  # whether the action took effect, per role (pages that redirect either way)


A = (401, 404, 200, 404, 404)          # API, private to its owner
R = (404, 404, 200, 404, 404)          # API read that anonymous callers may make (public apps): private → 404
R_MOD = (404, 404, 200, 200, 200)      # API read, owner and moderators see it
P = (302, 404, 200, 404, 404)          # page, private to its owner

MATRIX = [
    # Apps in each non-public state: owners see their own; moderators see submitted, rejected and suspended ones.
    Cell("app draft", "read", "GET", "/api/v1/apps/{draft}/", R),
    Cell("app draft", "edit", "PATCH", "/api/v1/apps/{draft}/", (401, 404, 200, 404, 404), {"tagline": "New"}),
    Cell("app draft", "submit", "POST", "/api/v1/apps/{draft}/submit/", (401, 404, 200, 404, 404)),
    Cell("app draft", "versions", "GET", "/api/v1/apps/{draft}/versions/", R),
    Cell("app draft", "quote", "GET", "/api/v1/apps/{draft}/quote/", A),
    Cell("app draft", "acquire", "POST", "/api/v1/apps/{draft}/acquire/", (401, 404, 200, 404, 404)),
    Cell("app draft", "page", "GET", "/apps/{draft}/", (404, 404, 200, 404, 404), page=True),
    Cell("app draft", "openai model", "GET", "/openai/v1/models/{draft}", A),
    Cell("app draft", "console", "GET", "/console/apps/{draft}/", (302, 404, 200, 404, 404), page=True),
    Cell("app rejected", "read", "GET", "/api/v1/apps/{rejected}/", R_MOD),
    Cell("app rejected", "edit", "PATCH", "/api/v1/apps/{rejected}/", (401, 404, 200, 403, 403), {"tagline": "New"}),
    Cell("app rejected", "page", "GET", "/apps/{rejected}/", (404, 404, 200, 200, 200), page=True),
    Cell("app suspended", "read", "GET", "/api/v1/apps/{suspended}/", R_MOD),
    Cell("app suspended", "acquire", "POST", "/api/v1/apps/{suspended}/acquire/", (401, 404, 200, 409, 409)),
    Cell("app suspended", "page", "GET", "/apps/{suspended}/", (404, 404, 200, 200, 200), page=True),
    Cell("app suspended", "console", "GET", "/console/apps/{suspended}/", (302, 404, 200, 404, 404), page=True),
    Cell("app published", "moderate", "POST", "/api/v1/apps/{published}/review/", (401, 403, 403, 200, 200),
         {"decision": "suspend", "reason": "matrix"}),
    # Usage analytics: the app's owners only, whatever its state (moderators use the platform-wide page).
    Cell("app published", "usage", "GET", "/api/v1/apps/{published}/usage/", A),
    Cell("app draft", "usage", "GET", "/api/v1/apps/{draft}/usage/", A),
    Cell("app published", "usage page", "GET", "/console/apps/{published}/usage/", P, page=True),
    Cell("app published", "usage csv", "GET", "/console/apps/{published}/usage.csv", P, page=True),
    # Versions and their artifacts: the owner's draft versions are private like the app.
    Cell("version", "read (draft app)", "GET", "/api/v1/apps/{draft}/versions/1.0.0/", R),
    Cell("version", "read (published app)", "GET", "/api/v1/apps/{published}/versions/1.0.0/",
         (200, 200, 200, 200, 200)),
    Cell("artifact", "upload", "POST", "/api/v1/apps/{draft}/versions/", (401, 404, 400, 404, 404), {}),
    Cell("artifact", "new version page", "GET", "/console/apps/{draft}/versions/new/", (302, 404, 200, 404, 404),
         page=True),
    # Model cards (issue 14): whoever sees the version reads its card; only the app's owner edits it.
    Cell("version", "model card", "GET", "/api/v1/apps/{published}/versions/1.0.0/card/", (200, 200, 200, 200, 200)),
    Cell("version", "model card (draft app)", "GET", "/api/v1/apps/{draft}/versions/1.0.0/card/", R),
    Cell("version", "edit model card", "PATCH", "/api/v1/apps/{published}/versions/1.0.0/card/",
         (401, 403, 200, 403, 403), {"license": "MIT"}),
    Cell("version", "edit model card (draft app)", "PATCH", "/api/v1/apps/{draft}/versions/1.0.0/card/",
         (401, 404, 200, 404, 404), {"license": "MIT"}),
    Cell("version", "model card page", "GET", "/console/apps/{published}/versions/1.0.0/card/", P, page=True),
    Cell("version", "model card save", "POST", "/console/apps/{published}/versions/1.0.0/card/",
         (302, 404, 302, 404, 404), {"license": "MIT"}, page=True),
    # Predictions (incl. the stream): only the caller who made them.
    Cell("prediction", "read", "GET", "/api/v1/predictions/{prediction}/", A),
    Cell("prediction", "cancel", "POST", "/api/v1/predictions/{prediction}/cancel/", A),
    Cell("prediction", "stream", "GET", "/api/v1/predictions/{prediction}/stream/", A),
    Cell("prediction", "page", "GET", "/predictions/{prediction}/", P, page=True),
    Cell("prediction", "cancel page", "POST", "/predictions/{prediction}/cancel/", (302, 404, 302, 404, 404),
         page=True),
    # Webhook deliveries of those predictions.
    Cell("webhook delivery", "list", "GET", "/api/v1/webhook-deliveries/?prediction={prediction}", (401, 0, 1, 0, 0)),
    Cell("webhook delivery", "redeliver", "POST", "/api/v1/webhook-deliveries/{delivery}/redeliver/",
         (401, 404, 201, 404, 404)),
    Cell("webhook delivery", "redeliver page", "POST", "/webhook-deliveries/{delivery}/redeliver/",
         (302, 404, 302, 404, 404), page=True),
    # API keys.
    Cell("key", "revoke", "DELETE", "/api/v1/keys/{key}/", (401, 404, 204, 404, 404)),
    Cell("key", "revoke page", "POST", "/settings/keys/{key}/revoke/", (302, 404, 302, 404, 404), page=True),
    # Datasets and training jobs.
    Cell("dataset", "read", "GET", "/api/v1/datasets/{dataset}/", (401, 404, 200, 404, 404)),
    Cell("dataset", "re-split", "PATCH", "/api/v1/datasets/{dataset}/", (401, 404, 200, 404, 404),
         {"validation_fraction": "0.25", "seed": 3}),
    Cell("dataset", "delete", "DELETE", "/api/v1/datasets/{spare_dataset}/", (401, 404, 204, 404, 404)),
    Cell("dataset", "delete (used by a job)", "DELETE", "/api/v1/datasets/{dataset}/", (401, 404, 409, 404, 404)),
    Cell("dataset", "page", "GET", "/console/training/datasets/{dataset}/", P, page=True),
    Cell("training job", "detail", "GET", "/api/v1/training-jobs/{job}/", A),
    Cell("training job", "cancel", "POST", "/api/v1/training-jobs/{job}/cancel/", A),
    Cell("training job", "publish", "POST", "/api/v1/training-jobs/{job}/publish/", (401, 404, 409, 404, 404),
         {"version": "2.0.0"}),
    # A running job has no artifact yet: the owner's 404 says "none yet", the others' says "no such job".
    Cell("training job", "artifact", "GET", "/api/v1/training-jobs/{job}/artifact/", A[:2] + (404,) + A[3:]),
    Cell("training job", "page", "GET", "/console/training/jobs/{job}/", P, page=True),
    Cell("training job", "cancel page", "POST", "/console/training/jobs/{job}/cancel/", (302, 404, 302, 404, 404),
         page=True),
    Cell("training job", "publish page", "POST", "/console/training/jobs/{job}/publish/",
         (302, 404, 400, 404, 404), {"version": "2.0.0"}, page=True),  # the owner's: not finished yet
    # Forum posts: authors edit and delete their own, moderators hide and delete anyone's.
    Cell("forum post", "edit page", "GET", "/forum/p/{post}/edit/", (302, 403, 200, 200, 200), page=True),
    Cell("forum post", "edit", "POST", "/forum/p/{post}/edit/", (302, 403, 302, 302, 302),
         {"title": "A thread by the owner", "body": "Edited by someone allowed to."}, page=True,
         changed=(False, False, True, True, True)),
    Cell("forum post", "hide", "POST", "/forum/p/{post}/hide/", (302, 302, 302, 302, 302), {"reason": "matrix"},
         page=True, changed=(False, False, False, True, True)),
    Cell("forum post", "delete", "POST", "/forum/p/{post}/delete/", (302, 302, 302, 302, 302), page=True,
         changed=(False, False, True, True, True)),
    # The ledger and balance: everyone sees only their own (200 with their own rows, never the owner's).
    Cell("ledger", "list", "GET", "/api/v1/billing/ledger/", (401, 0, 1, 0, 0)),
    Cell("ledger", "balance", "GET", "/api/v1/billing/balance/", (401, 200, 200, 200, 200)),
    Cell("ledger", "wallet page", "GET", "/billing/wallet/", (302, 200, 200, 200, 200), page=True),
    # Data exports (privacy): the zip is its owner's only, never a public URL.
    Cell("data export", "download", "GET", "/api/v1/me/export/{export}/download/", A),
    Cell("data export", "status", "GET", "/api/v1/me/export/", A),
    # Organisations (issue 14): someone else's org, its members and invitations answer 404.
    Cell("org", "members", "GET", "/api/v1/orgs/{org}/members/", A),
    Cell("org", "invite", "POST", "/api/v1/orgs/{org}/members/", (401, 404, 201, 404, 404),
         {"email": "matrix-invite@example.com", "role": "member"}),
    Cell("org member", "change role", "PATCH", "/api/v1/orgs/{org}/members/{member}/", A, {"role": "admin"}),
    Cell("org member", "remove", "DELETE", "/api/v1/orgs/{org}/members/{member}/", (401, 404, 204, 404, 404)),
    Cell("org", "members page", "GET", "/orgs/{org}/members/", P, page=True),
    Cell("org member", "change role page", "POST", "/orgs/{org}/members/{member}/", (302, 404, 302, 404, 404),
         {"role": "admin"}, page=True),
    # Logged out, the secret link shows the invitation (sign up to join at once, or log in); logged in, only to
    # the invited address's account.
    Cell("org invitation", "page", "GET", "/orgs/invitations/{invitation}/", (200, 404, 200, 404, 404), page=True),
    Cell("org", "wallet page", "GET", "/billing/orgs/{org}/wallet/", P, page=True),
    Cell("org", "wallet balance", "GET", "/api/v1/billing/balance/?org={org}", A),
    Cell("org", "read", "GET", "/api/v1/orgs/{org}/", A),
    Cell("org", "monthly budget", "PATCH", "/api/v1/orgs/{org}/", A, {"monthly_budget": "5"}),
    Cell("org", "wallet page budget", "POST", "/billing/orgs/{org}/wallet/", (302, 404, 302, 404, 404),
         {"action": "budget", "monthly_budget": "5"}, page=True),
    Cell("org", "payouts onboarding", "POST", "/billing/orgs/{org}/connect/", (302, 404, 302, 404, 404),
         page=True),
    Cell("org", "payouts onboarding return", "GET", "/billing/orgs/{org}/connect/return/",
         (302, 404, 302, 404, 404), page=True),
    # Quotes are personal: only the user it was given to can run at its price.
    Cell("quote", "use", "POST", "/api/v1/apps/{seller_app}/predictions/", (401, 400, 202, 400, 400),
         {"input": {"text": "hi"}, "quote_id": "{quote}"}),
]
# A tuple entry of 0 or 1 in "list" rows means: 200, and the owner's object is absent (0) or present (1).


@pytest.fixture
def world(settings):
    settings.ALLOW_GPU_FALLBACK_TO_CPU = True
    from community.models import ForumCategory
    from community.services import thread_create
    from training.services import dataset_create

    owner = DeveloperFactory()
    users = {
        "other": DeveloperFactory(),
        "owner": owner,
        "moderator": ModeratorFactory(is_developer=True),  # a developer too, so ownership is what decides
        "superuser": DeveloperFactory(is_superuser=True, is_staff=True),
    }
    apps = {state: AppFactory(owner=owner, status=status) for state, status in
            [("draft", AppStatus.DRAFT), ("rejected", AppStatus.REJECTED), ("suspended", AppStatus.SUSPENDED),
             ("published", AppStatus.PUBLISHED)]}
    for app in apps.values():
        AppVersionFactory(app=app, version="1.0.0", status="ready")
    prediction = Prediction.objects.create(app=apps["published"], version=apps["published"].versions.get(),
                                           user=owner, input={"text": "private"})
    delivery = WebhookDelivery.objects.create(prediction=prediction, event="completed", url="https://example.com/h",
                                              message_id="msg_matrix")
    key = api_key_create(user=owner, name="owner's", scopes=["read"]).api_key
    rows = "".join(f"text number {i},{['pos', 'neg'][i % 2]}\n" for i in range(30))
    dataset = dataset_create(owner=owner, file=SimpleUploadedFile("d.csv", ("text,label\n" + rows).encode()))
    spare = dataset_create(owner=owner, file=SimpleUploadedFile("s.csv", ("text,label\n" + rows).encode()))
    job = TrainingJob.objects.create(owner=owner, base_version=apps["published"].versions.get(), dataset=dataset,
                                     framework="transformers", status=JobStatus.RUNNING)
    category, _ = ForumCategory.objects.get_or_create(slug="general", defaults={"name": "General"})
    thread = thread_create(author=owner, category=category, title="A thread by the owner", body="Owner's words.",
                           kind="discussion")
    seller_app = PaidAppFactory(base_price=Decimal("0.01"), k=Decimal("0"), max_price=Decimal("0.01"))
    AppVersionFactory(app=seller_app, version="1.0.0", status="ready")
    billing.credit_grant(user=owner, amount=Decimal("5"), memo="owner-only-grant", granted_by=None)
    quote = billing.quote_create(user=owner, app=seller_app)
    for user in users.values():  # everyone may run the app: only the quote's owner decides the answer
        LibraryEntryFactory(user=user, app=seller_app)
        billing.credit_grant(user=user, amount=Decimal("1"), memo="everyone", granted_by=None)
    from accounts.models import Invitation, Membership
    from accounts.org_services import org_create
    from privacy.services import export_build, export_request

    org = org_create(user=owner, name="Matrix org")
    member = Membership.objects.create(org=org, user=DeveloperFactory(), role="member")
    elsewhere = org_create(user=DeveloperFactory(), name="Elsewhere")
    invitation = Invitation.objects.create(org=elsewhere, email=owner.email, role="member", token="matrix-token",
                                           expires=timezone.now() + dt.timedelta(days=1))
    export = export_request(user=owner)
    export_build(export_id=str(export.pk))
    ids = {**{state: app.slug for state, app in apps.items()}, "export": export.pk,
           "prediction": prediction.pk, "delivery": delivery.pk,
           "key": key.pk, "dataset": dataset.pk, "spare_dataset": spare.pk, "job": job.pk,
           "post": thread.posts.get(number=1).pk, "seller_app": seller_app.slug, "quote": str(quote.pk),
           "org": org.slug, "member": member.pk, "invitation": invitation.token}
    return {"users": users, "ids": ids, "post": thread.posts.get(number=1),
            "owner_markers": {"prediction": str(prediction.pk), "ledger": "owner-only-grant"}}


def _effect(cell: Cell, world) -> bool:
    from community.models import Post

    post = Post.objects.get(pk=world["post"].pk)
    return {"edit": post.body.startswith("Edited"), "hide": post.hidden,
            "delete": post.deleted_at is not None}[cell.action]


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _request(cell: Cell, role: str, world):
    ids = world["ids"]
    url, body = cell.url.format(**ids), _fill(cell.body, ids)
    user = world["users"].get(role)
    if cell.page:
        client = Client()
        if user is not None:
            client.force_login(user)
        if cell.method == "GET":
            return client.get(url)
        return client.post(url, body or {})
    if user is None:
        from rest_framework.test import APIClient

        client = APIClient()
    else:
        client = key_client(user, scopes=("read", "predict", "publish"))
    if body is None:
        return client.generic(cell.method, url)
    return client.generic(cell.method, url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cell", MATRIX, ids=lambda c: f"{c.kind}-{c.action}".replace(" ", "_"))
def test_authorization_matrix(cell: Cell, role: str, world):
    expected = cell.expect[ROLES.index(role)]
    response = _request(cell, role, world)
    if expected in (0, 1):  # a list: 200, and the owner's object absent (0) or present (1)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        marker = world["owner_markers"]["ledger" if cell.kind == "ledger" else "prediction"]
        assert (marker in response.content.decode()) is bool(expected)
        return
    assert response.status_code == expected, (role, cell.method, cell.url, response.status_code,
                                              response.content[:300])
    if cell.changed is not None:
        assert _effect(cell, world) is cell.changed[ROLES.index(role)], (role, cell.action)
    if not cell.page and expected >= 400:
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"]


def test_the_matrix_covers_every_api_endpoint_and_object_page():
    """Each object route of the API and the pages appears in the table (list/create routes are in test_fuzz)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    object_routes = {route for route in routes(get_resolver()) if "<" in route and not route.startswith("admin/")
                     and not route.startswith("accounts/")  # allauth's token links (email confirm, reset)
                     and "reviews/<int" not in route}
    covered = set()
    for route in object_routes:
        shape = route.replace("^", "")
        for cell in MATRIX:
            path = cell.url.split("?")[0].lstrip("/")
            parts, shape_parts = path.strip("/").split("/"), shape.strip("/").split("/")
            if len(parts) == len(shape_parts) and all(
                    s.startswith("<") or s == p for s, p in zip(shape_parts, parts, strict=True)):
                covered.add(route)
    missing = sorted(object_routes - covered)
    # Public read-only routes (store pages, profiles, forum threads) and the forum's like/flag/accept actions
    # are not about ownership; they are listed here so a new private route cannot slip in unnoticed.
    public = {"c/<slug:slug>/", "apps/<slug:slug>/", "apps/<slug:slug>/get/", "apps/<slug:slug>/review/",
              "u/<str:username>/", "forum/c/<slug:slug>/", "forum/c/<slug:slug>/watch/", "forum/t/<int:pk>/",
              "forum/t/<slug:slug>/<int:pk>/", "forum/t/<int:pk>/reply/", "forum/t/<int:pk>/moderate/",
              "forum/t/<int:pk>/watch/", "forum/p/<int:pk>/history/", "forum/p/<int:pk>/like/",
              "forum/p/<int:pk>/flag/", "forum/p/<int:pk>/accept/", "billing/apps/<slug:slug>/buy/",
              "billing/apps/<slug:slug>/price/", "console/apps/<slug:slug>/submit/",
              "api/v1/apps/<slug:slug>/reviews/", "api/v1/apps/<slug:slug>/acquire/",
              "api/v1/forum/threads/<int:pk>/", "api/v1/forum/threads/<int:pk>/posts/",
              "api/v1/forum/posts/<int:pk>/like/", "api/v1/forum/posts/<int:pk>/flag/",
              "api/v1/forum/posts/<int:pk>/accept/", "^media/(?P<path>icons/.*)$",
              "^docs/(?P<path>.*)$"}  # the documentation site's static pages
    missing = [route for route in missing if route not in public]
    assert missing == [], missing
