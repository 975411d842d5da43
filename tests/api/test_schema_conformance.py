"""Every documented answer matches /api/schema/: schemathesis checks response_schema_conformance per operation.

Requests go through the real WSGI application with a real API key (all scopes) of a developer who owns a
published app with a ready version. (tests/api/test_fuzz*.py runs the not-a-server-error check.)
"""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Stripe's own endpoints need the fake Stripe server (tests/billing covers them); the rest is exercised here.
schema = schema.exclude(path_regex=r"^/(billing/stripe/webhook/|api/v1/billing/topups/)")
# Valid requests only (the negative, fuzzing side is tests/api/test_fuzz*.py): their answers must match the schema.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE], allow_extra_parameters=False)


@pytest.fixture
def api_key(db):
    from accounts.services import api_key_create
    from marketplace.models import AppStatus
    from tests.factories import AppFactory, AppVersionFactory, DeveloperFactory, LibraryEntryFactory

    owner = DeveloperFactory(email="owner@example.com")
    app = AppFactory(slug="tiny-app", owner=owner, status=AppStatus.PUBLISHED)
    AppVersionFactory(app=app, version="1.0.0", status="ready", task="text-classification")
    LibraryEntryFactory(user=owner, app=app)
    return api_key_create(user=owner, name="schemathesis", scopes=["read", "predict", "publish"]).raw_key


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calls go through the WSGI handler in this thread: keep it from closing the test's DB connection at the
    end of each request (Django's own test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_answers_match_the_schema(case, api_key):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {api_key}"}
    response = case.call()
    case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
