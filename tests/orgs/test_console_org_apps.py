"""The developer console (issue 14) lists the apps of the orgs where the user's role may publish, grouped by
org, with links that work: members who may publish manage the org's apps like their owner does; other members
neither see nor reach them."""
import re

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.org_services import org_create
from marketplace.models import App, AppStatus
from marketplace.services import app_create
from tests.conftest import key_client
from tests.factories import AppFactory, DeveloperFactory, category

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    owner, dev, member = DeveloperFactory(), DeveloperFactory(), DeveloperFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=dev, role="developer")
    Membership.objects.create(org=org, user=member, role="member")
    by_owner = app_create(owner=owner, org=org, name="Acme Vision", tagline="Sees", category=category())
    by_dev = app_create(owner=dev, org=org, name="Acme Words", tagline="Writes", category=category())
    personal = {user.pk: AppFactory(owner=user, status=AppStatus.DRAFT, name=f"Solo {user.username}")
                for user in (owner, dev, member)}
    return org, owner, dev, member, (by_owner, by_dev), personal


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _section(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}".*?(?=<section|<div class="mt-18">)', page, re.S)
    return found.group(0) if found else ""


def test_publishers_see_the_org_apps_grouped_under_the_org_with_working_links(world):
    org, owner, dev, member, org_apps, personal = world
    for user in (owner, dev):
        client = _client(user)
        page = client.get("/console/").content.decode()
        group = _section(page, "console-org-acme")
        assert "Apps of Acme" in group
        for app in org_apps:
            assert f'data-app="{app.slug}"' in group and f'href="/console/apps/{app.slug}/"' in group
            assert client.get(f"/console/apps/{app.slug}/").status_code == 200
            assert client.get(f"/console/apps/{app.slug}/versions/new/").status_code == 200
            assert client.get(f"/console/apps/{app.slug}/usage/").status_code == 200
        # Their own apps as before, apart from the org's.
        own = _section(page, "console-own-apps")
        assert f'data-app="{personal[user.pk].slug}"' in own
        assert not any(f'data-app="{app.slug}"' in own for app in org_apps)
        # Someone else's personal app stays out of reach.
        other = personal[owner.pk if user == dev else dev.pk]
        assert other.slug not in page and client.get(f"/console/apps/{other.slug}/").status_code == 404


def test_members_who_may_not_publish_neither_see_nor_reach_the_org_apps(world):
    org, owner, dev, member, org_apps, personal = world
    client = _client(member)
    page = client.get("/console/").content.decode()
    assert 'id="console-org-acme"' not in page
    assert f'data-app="{personal[member.pk].slug}"' in page
    for app in org_apps:
        assert app.slug not in page
        assert client.get(f"/console/apps/{app.slug}/").status_code == 404
        assert client.get(f"/console/apps/{app.slug}/usage/").status_code == 404
    # Demoted, the developer loses the org's apps, except the one they created (they still own it).
    Membership.objects.filter(user=dev).update(role="member")
    page = _client(dev).get("/console/").content.decode()
    assert 'id="console-org-acme"' not in page
    assert f'data-app="{org_apps[1].slug}"' in page and org_apps[0].slug not in page


def test_a_publisher_manages_an_org_app_over_the_api_too(world):
    org, owner, dev, member, org_apps, personal = world
    app = org_apps[0]  # created by the owner
    response = key_client(dev).patch(f"/api/v1/apps/{app.slug}/", {"tagline": "Sees better"}, format="json")
    assert response.status_code == 200, response.content
    assert App.objects.get(pk=app.pk).tagline == "Sees better"
    submit = _client(dev).post(f"/console/apps/{app.slug}/submit/", follow=True).content.decode()
    assert "Only the owner" not in submit and "Add at least one version before submitting" in submit
    # A plain member: the org's draft is not even visible (404); once published, not theirs to change (403).
    assert key_client(member).patch(f"/api/v1/apps/{app.slug}/", {"tagline": "x"}, format="json").status_code == 404
    App.objects.filter(pk=app.pk).update(status=AppStatus.PUBLISHED)
    assert key_client(member).patch(f"/api/v1/apps/{app.slug}/", {"tagline": "x"}, format="json").status_code == 403
    assert App.objects.get(pk=app.pk).tagline == "Sees better"
