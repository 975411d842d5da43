"""The `modelmarket` CLI: typer's CliRunner and a real subprocess, against a live platform."""
import json
import os
import stat
import subprocess
import sys

import pytest
from modelmarket.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(platform, tmp_path, monkeypatch):
    env = {"MODELMARKET_API_KEY": platform.key, "MODELMARKET_BASE_URL": platform.url,
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_cli_runner_commands_json_and_exit_codes(platform, cli_env):
    runner = CliRunner()
    listed = runner.invoke(app, ["apps", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {"tiny-sentiment", "tiny-writer"} <= {item["slug"] for item in json.loads(listed.stdout)}

    ran = runner.invoke(app, ["run", "tiny-sentiment", "-i", "text=profits rose"])
    assert ran.exit_code == 0, ran.output
    assert {label["label"] for label in json.loads(ran.stdout)["labels"]} == {"negative", "positive"}

    streamed = runner.invoke(app, ["run", "tiny-writer", "-i", "text=Guard:", "-i", "max_new_tokens=6", "--stream"])
    assert streamed.exit_code == 0, streamed.output

    balance = json.loads(runner.invoke(app, ["balance", "--json"]).stdout)
    assert balance["currency"] == "usd" and "held" in balance

    created = json.loads(runner.invoke(app, ["keys", "create", "ci", "--scope", "read", "--json"]).stdout)
    assert created["key"].startswith("mm_") and created["scopes"] == ["read"]
    assert created["id"] in {k["id"] for k in json.loads(runner.invoke(app, ["keys", "list"]).stdout)}
    assert runner.invoke(app, ["keys", "revoke", str(created["id"])]).exit_code == 0

    predictions = json.loads(runner.invoke(app, ["predictions", "list", "--json"]).stdout)
    assert len(predictions) >= 2
    got = json.loads(runner.invoke(app, ["predictions", "get", predictions[0]["id"]]).stdout)
    assert got["id"] == predictions[0]["id"]

    missing = runner.invoke(app, ["apps", "show", "no-such-app"])
    assert missing.exit_code == 1 and "404" in missing.stderr and missing.stdout == ""
    bad_input = runner.invoke(app, ["run", "tiny-sentiment", "-i", "txt=typo"])
    assert bad_input.exit_code == 1 and "invalid" in bad_input.stderr
    usage = runner.invoke(app, ["run", "tiny-sentiment", "-i", "no-equals-sign"])
    assert usage.exit_code == 2
    assert runner.invoke(app, ["train", "--base", "no-version", "--dataset", "1"]).exit_code == 2
    assert runner.invoke(app, ["apps", "frobnicate"]).exit_code == 2


def test_login_stores_the_key_with_mode_0600(platform, cli_env, monkeypatch):
    monkeypatch.delenv("MODELMARKET_API_KEY")
    runner = CliRunner()
    result = runner.invoke(app, ["login", "--base-url", platform.url], input=f"{platform.key}\n")
    assert result.exit_code == 0, result.output
    path = os.path.join(cli_env["XDG_CONFIG_HOME"], "modelmarket", "config.toml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The stored key is used when the environment has none.
    assert json.loads(runner.invoke(app, ["balance"]).stdout)["currency"] == "usd"
    wrong = runner.invoke(app, ["login", "--base-url", platform.url], input="mm_wrong_key\n")
    assert wrong.exit_code == 1 and "401" in wrong.stderr


def test_real_subprocess_pipes_json_and_sets_the_exit_status(platform, cli_env):
    env = {**os.environ, **cli_env}
    entry = [sys.executable, "-m", "modelmarket.cli"]
    ok = subprocess.run([*entry, "run", "tiny-sentiment", "-i", "text=profits rose"], env=env, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["labels"]
    shown = subprocess.run([*entry, "apps", "show", "tiny-writer"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0 and json.loads(shown.stdout)["slug"] == "tiny-writer"
    failed = subprocess.run([*entry, "apps", "show", "nope"], env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "not_found" in failed.stderr
    usage = subprocess.run([*entry, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2
    alias = subprocess.run([os.path.join(os.path.dirname(sys.executable), "mm"), "--help"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert alias.returncode == 0 and "publish" in alias.stdout


def test_publish_then_dataset_and_train_watch(platform, cli_env, tiny_models, tmp_path, monkeypatch):
    """A developer publishes from the terminal (upload, validation, submit), then fine-tunes with --watch."""
    from decimal import Decimal

    import modelmarket

    from accounts.services import api_key_create
    from billing.services import credit_grant
    from tests.factories import DeveloperFactory, ModeratorFactory
    from tests.training.conftest import csv_bytes, small_rows

    developer = DeveloperFactory()
    credit_grant(user=developer, amount=Decimal("5.00"), memo="tests", granted_by=ModeratorFactory())
    key = api_key_create(user=developer, name="cli", scopes=["read", "predict", "publish"]).raw_key
    monkeypatch.setenv("MODELMARKET_API_KEY", key)
    draft = modelmarket.Client().apps.create(name="CLI Published", tagline="From the terminal",
                                             description="Made by a test.", category="games",
                                             pricing={"model": "free"})
    runner = CliRunner()
    published = runner.invoke(app, ["publish", draft.slug, str(tiny_models["classifier"]), "--version", "1.0.0",
                                    "--task", "text-classification", "--framework", "transformers", "--json"])
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["status"] == "in_review"

    data = tmp_path / "data.csv"
    data.write_bytes(csv_bytes(small_rows(per_label=6)))
    uploaded = runner.invoke(app, ["datasets", "upload", str(data), "--json"])
    assert uploaded.exit_code == 0, uploaded.output
    dataset = json.loads(uploaded.stdout)
    assert dataset["rows"] >= 14 and set(dataset["labels"]) == {"negative", "neutral", "positive"}
    trained = runner.invoke(app, ["train", "--base", f"{draft.slug}@1.0.0", "--dataset", str(dataset["id"]),
                                  "--epochs", "1", "--watch", "--json"])
    assert trained.exit_code == 0, trained.output
    job = json.loads(trained.stdout)
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["metrics"]["loss"] > 0
