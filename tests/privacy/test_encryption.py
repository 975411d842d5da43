"""Prediction inputs and outputs are encrypted at rest (Fernet), readable through the ORM, rotatable."""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from config.crypto import EncryptionKeyError, derive_key, is_token
from inference.models import Prediction

from .conftest import finished, raw_columns

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_raw_column_is_ciphertext_and_the_orm_reads_the_value(app, caller):
    prediction = finished(app, caller, text="my secret diary entry", output={"text": "a secret answer"})
    raw_input, raw_output = raw_columns(prediction)
    for raw in (raw_input, raw_output):
        assert is_token(raw) and "secret" not in raw and "{" not in raw
    assert raw_input != raw_output
    stored = Prediction.objects.get(pk=prediction.pk)
    assert stored.input == {"text": "my secret diary entry"} and stored.output == {"text": "a secret answer"}
    assert list(Prediction.objects.filter(pk=prediction.pk).values_list("input", flat=True)) == [stored.input]


def test_update_bulk_update_and_raw_querysets_go_through_the_field(app, caller):
    first, second = finished(app, caller, text="one"), finished(app, caller, text="two")
    Prediction.objects.filter(pk=first.pk).update(output={"text": "streamed so far"})
    first.output, second.output = {"labels": []}, {"text": "bulk secret"}
    Prediction.objects.bulk_update([first, second], ["output"])
    assert "bulk secret" not in raw_columns(second)[1] and is_token(raw_columns(second)[1])
    raw = {str(p.pk): p for p in Prediction.objects.raw("SELECT * FROM inference_prediction")}
    assert raw[str(second.pk)].output == {"text": "bulk secret"} and raw[str(first.pk)].input == {"text": "one"}


def test_none_is_stored_as_null_and_nan_is_refused_like_the_database_did(app, caller):
    from django.db import DataError

    prediction = finished(app, caller)
    Prediction.objects.filter(pk=prediction.pk).update(output=None)
    assert raw_columns(prediction)[1] is None
    with pytest.raises(DataError):
        Prediction.objects.filter(pk=prediction.pk).update(output={"score": float("nan")})


def test_rotation_re_encrypts_with_the_new_key_and_old_keys_still_read(app, caller, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PREDICTION_ENCRYPTION_KEYS = old
    prediction = finished(app, caller, text="rotate me")
    before = raw_columns(prediction)
    settings.PREDICTION_ENCRYPTION_KEYS = f"{new},{old}"  # the new key encrypts, both decrypt
    assert Prediction.objects.get(pk=prediction.pk).input == {"text": "rotate me"}
    call_command("rotate_prediction_key")
    after = raw_columns(prediction)
    assert after != before
    assert json.loads(Fernet(new.encode()).decrypt(after[0].encode())) == {"text": "rotate me"}
    call_command("rotate_prediction_key")  # resumable: nothing left to do
    assert raw_columns(prediction) == after
    settings.PREDICTION_ENCRYPTION_KEYS = new  # the old key can go now
    assert Prediction.objects.get(pk=prediction.pk).output == prediction.output


def test_without_the_key_the_data_cannot_be_read(app, caller, settings):
    prediction = finished(app, caller)
    settings.PREDICTION_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    with pytest.raises(EncryptionKeyError):
        Prediction.objects.get(pk=prediction.pk)


def test_the_migration_encrypts_rows_written_before_it(app, caller):
    import importlib

    migration = importlib.import_module("inference.migrations.0003_encrypt_prediction_data")
    prediction = finished(app, caller)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inference_prediction SET input = %s, output = %s WHERE id = %s",
                       ['{"text": "plain old row"}', "null", prediction.pk])
    migration.encrypt(None, SimpleNamespace(connection=connection))
    raw_input, raw_output = raw_columns(prediction)
    assert is_token(raw_input) and "plain" not in raw_input and raw_output is None
    assert Prediction.objects.get(pk=prediction.pk).input == {"text": "plain old row"}
    migration.decrypt(None, SimpleNamespace(connection=connection))
    assert json.loads(raw_columns(prediction)[0]) == {"text": "plain old row"}


def _settings_in_subprocess(**overrides) -> subprocess.CompletedProcess:
    script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
              "from django.conf import settings as s; print(len(s.PREDICTION_ENCRYPTION_KEYS.split(',')))")
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "PREDICTION_ENCRYPTION_KEYS")}
    env.update(overrides)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_the_key_and_development_derives_one():
    refused = _settings_in_subprocess(SECRET_KEY="a-real-secret-for-this-test-only")
    assert refused.returncode != 0 and "PREDICTION_ENCRYPTION_KEYS must be set" in refused.stderr
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    started = _settings_in_subprocess(SECRET_KEY="a-real-secret-for-this-test-only", PREDICTION_ENCRYPTION_KEYS=keys)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip().splitlines()[-1] == "2"
    bad = _settings_in_subprocess(SECRET_KEY="a-real-secret-for-this-test-only", PREDICTION_ENCRYPTION_KEYS="nope")
    assert bad.returncode != 0 and "must be a Fernet key" in bad.stderr
    assert Fernet(derive_key("anything").encode())  # development's derived key is a valid Fernet key
