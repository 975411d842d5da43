"""Every admin list page renders for a superuser, and its query count does not grow with its rows (no N+1)."""
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services as billing_services
from community import services as forum_services
from tests.factories import AppFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rows(granted_by, n: int) -> None:
    """Rows with nullable foreign keys in their list columns: Django's automatic join skips those."""
    for _ in range(n):
        billing_services.credit_grant(user=UserFactory(), amount=Decimal("1"), memo="welcome", granted_by=granted_by)
        forum_services.category_for_app_ensure(app=AppFactory())


def _query_counts(client) -> dict[str, int]:
    counts = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[url] = len(queries.captured_queries)
    return counts


def test_every_admin_changelist_renders_in_constant_queries(client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    _rows(superuser, 1)
    few = _query_counts(client)
    _rows(superuser, 4)
    assert _query_counts(client) == few
