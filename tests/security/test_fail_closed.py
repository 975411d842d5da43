"""Fail closed: without DEBUG in the environment the settings are production's; dev-only tools refuse."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = (
    "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
    "from django.conf import settings as s;"
    "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS,"
    " 'private_webhooks': s.WEBHOOK_ALLOW_PRIVATE_ADDRESSES, 'ssl_redirect': s.SECURE_SSL_REDIRECT}))"
)


def _settings_in_subprocess(**overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS",
                                                            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
                                                            "PREDICTION_ENCRYPTION_KEYS")}
    env.update(overrides)
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_debug_is_off_unless_the_environment_turns_it_on():
    # Production also needs the key that encrypts prediction data (tests/privacy/test_encryption.py: refused without)
    result = _settings_in_subprocess(SECRET_KEY="a-real-secret-for-this-test-only", SITE_URL="https://mm.example",
                                     PREDICTION_ENCRYPTION_KEYS="Zm9yLXRoaXMtdGVzdC1vbmx5LTMyLWJ5dGVzLWtleSE=")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["debug"] is False
    assert loaded["private_webhooks"] is False  # the SSRF guard is on
    assert loaded["ssl_redirect"] is True
    assert "testserver" not in loaded["hosts"] and "mm.example" in loaded["hosts"]


def test_without_debug_the_development_secret_key_is_refused():
    result = _settings_in_subprocess()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_development_settings_only_when_asked_for():
    result = _settings_in_subprocess(DEBUG="true")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["debug"] is True and "testserver" not in loaded["hosts"]


def test_make_run_sets_the_development_settings_explicitly():
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export DEBUG ?= true" in makefile


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    from accounts.models import User

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not User.objects.exists()
