"""Schemathesis over /api/schema/: generated requests for every operation must never get a 5xx.

Bounded (FUZZ_EXAMPLES generated examples per operation, default 5, plus schemathesis's coverage cases) so
CI stays within a couple of minutes. Requests go through
the whole WSGI stack (middleware included) as three callers: anonymous, an end user with a full-scope API key,
and a developer who owns a published paid app (so slugs and ids in the generated paths sometimes exist).
Response-schema conformance is tested separately (issue 13); this file proves only "not a server error".
"""
import json
import os
from collections import Counter
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from tests.conftest import ARTIFACTS, key_client
from tests.factories import AppVersionFactory, DeveloperFactory, PaidAppFactory, UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
TALLY: Counter = Counter()


@pytest.fixture
def api_schema(db):
    """The WSGI app as a server would run it, minus closing the DB connection after each request (as Django's
    test client does): the test's transaction must survive the requests."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def stripe_configured(settings):
    """Payments configured against the fake Stripe server: a 503 "not configured" would hide real paths."""
    from tests.fakestripe.server import FakeStripe

    server = FakeStripe(webhook_secret="whsec_fuzz").start()
    settings.STRIPE_SECRET_KEY = "sk_test_fuzz"
    settings.STRIPE_WEBHOOK_SECRET = server.webhook_secret
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def callers(db, stripe_configured):
    """Authorization headers for the three kinds of caller; objects they may touch exist."""
    developer = DeveloperFactory()
    app = PaidAppFactory(owner=developer, slug="fuzz-app")
    AppVersionFactory(app=app, version="1.0.0")
    user = UserFactory()
    return {
        "anonymous": {},
        "user": {"Authorization": f"Bearer {_raw_key(user)}"},
        "developer": {"Authorization": f"Bearer {_raw_key(developer)}"},
    }


def _raw_key(user) -> str:
    return key_client(user, scopes=("read", "predict", "publish"))._credentials["HTTP_AUTHORIZATION"].split()[1]


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.explicit,
                                                                                  hypothesis.Phase.generate])
def test_no_operation_answers_a_server_error(case, callers):
    for who, headers in callers.items():
        response = case.call(headers=headers)
        TALLY["requests"] += 1
        TALLY[f"status_{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            TALLY["server_errors"] += 1
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
        assert response.status_code < 500, (who, case.method, case.formatted_path, response.text[:500])


@pytest.fixture(scope="module", autouse=True)
def _write_tally():
    yield
    if TALLY:
        path = Path(ARTIFACTS)
        path.mkdir(parents=True, exist_ok=True)
        (path / "fuzz-summary.json").write_text(json.dumps({"examples_per_operation": EXAMPLES, **TALLY}, indent=2))
