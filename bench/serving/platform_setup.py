"""The platform's side of a run, in a subprocess with the target's settings: migrate, then users, keys, apps and
versions made through the project's own services."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .common import PAID_PRICE, ROOT


def bench_people():
    """(developer, moderator, category) every benchmark's apps are made, reviewed and filed with (Django set up)."""
    from accounts.models import User
    from accounts.services import user_become_developer, user_make_moderator
    from marketplace.models import Category

    developer = User.objects.create_user(username="bench-dev", email="bench-dev@example.com", password=None)
    user_become_developer(user=developer, accept_terms=True)
    moderator = User.objects.create_user(username="bench-mod", email="bench-mod@example.com", password=None)
    user_make_moderator(user=moderator)
    return developer, moderator, Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})[0]


def setup_child(args) -> None:
    """Subprocess with the target's settings: migrate, then users, keys, apps and versions via the services."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    spec = json.loads(Path(args.spec_file).read_text())
    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import User
    from accounts.services import api_key_create
    from billing.services import credit_grant
    from inference.demo import _cached, build_minilm
    from inference.services import version_upload
    from inference.worker.validation import version_validate
    from marketplace.models import App, AppVersion, VersionStatus
    from marketplace.services import app_acquire, app_create, app_review, app_submit

    developer, moderator, category = bench_people()

    minilm_zip, _info = _cached("minilm.zip", build_minilm)
    tiny_zip = None
    if any(app["model"] == "tiny" for app in spec["apps"]):
        from inference.runtimes.demo_models import build_tiny_bert, zip_folder

        folder = Path(tempfile.mkdtemp(prefix="bench-tiny-bert-"))
        build_tiny_bert(folder, labels=["negative", "positive"], texts=spec["sentences"][:64], hidden=32, layers=1)
        tiny_zip = zip_folder(folder, folder.with_suffix(".zip"))

    slugs = {}
    paid_apps = []
    for app_spec in spec["apps"]:
        pricing = ({"model": "per_call", "base_price": PAID_PRICE, "k": "0", "max_price": PAID_PRICE,
                    "free_calls_per_month": 0} if app_spec["paid"] else None)
        app = app_create(owner=developer, name=f"Bench {app_spec['tag']}", tagline="Benchmark app",
                         category=category, description="Made by bench/serve.py.", pricing=pricing,
                         slug=f"bench-{app_spec['tag']}")
        artifact = minilm_zip if app_spec["model"] == "minilm" else tiny_zip
        task = "feature-extraction" if app_spec["model"] == "minilm" else "text-classification"
        extra = {"max_batch_size": app_spec["max_batch_size"]} if app_spec.get("max_batch_size") else {}
        with open(artifact, "rb") as handle:
            upload = File(handle, name=f"{app_spec['model']}.zip")
            upload.size = Path(artifact).stat().st_size
            version = version_upload(app=app, actor=developer, artifact=upload, version="1.0.0", task=task,
                                     framework="transformers", **extra)
        version_validate(version_id=version.pk)
        version = AppVersion.objects.get(pk=version.pk)
        if version.status != VersionStatus.READY:
            raise SystemExit(f"version of {app.slug} is {version.status}: {version.error}")
        app_submit(app=app, actor=developer)
        app_review(app=app, moderator=moderator, decision="approve")
        slugs[app_spec["tag"]] = {"slug": app.slug, "max_batch_size": version.max_batch_size,
                                  "max_wait_ms": version.max_wait_ms}
        if app_spec["paid"]:
            paid_apps.append(app)
    apps = list(App.objects.filter(slug__startswith="bench-"))
    keys = []
    for index in range(spec["users"]):
        user = User.objects.create_user(username=f"bench-user-{index}", email=f"bench-user-{index}@example.com",
                                        password=None)
        for app in apps:
            app_acquire(user=user, app=app)
        if paid_apps:
            credit_grant(user=user, amount="100.00", memo="benchmark credits", granted_by=moderator)
        keys.append(api_key_create(user=user, name="bench", scopes=["read", "predict"]).raw_key)
    print(json.dumps({"keys": keys, "apps": slugs}))
