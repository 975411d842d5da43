"""The web process never imports torch or TensorFlow, nor the worker code of inference and training: checked in a
fresh interpreter that serves requests (uploads, predictions, a dataset and a training job)."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import io, sys, zipfile, django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    import config.urls  # the whole URLconf: every view module of every app
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient
    from tests.factories import AppFactory, LibraryEntryFactory, UserFactory
    from marketplace.models import AppVersion

    app = AppFactory()
    user = UserFactory()
    LibraryEntryFactory(user=user, app=app)
    owner, client = APIClient(), APIClient()
    owner.force_authenticate(app.owner)
    client.force_authenticate(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.safetensors", b"0" * 64)
    answers = [
        owner.post(f"/api/v1/apps/{app.slug}/versions/", {"artifact": SimpleUploadedFile("m.zip", buffer.getvalue()),
                   "version": "1.0.0", "task": "text-classification", "framework": "transformers"},
                   format="multipart").status_code,
    ]
    AppVersion.objects.filter(app=app).update(status="ready")
    created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "hi"}}, format="json")
    answers += [created.status_code,
                client.get(f"/api/v1/predictions/{created.json()['id']}/").status_code,
                client.get("/api/v1/predictions/").status_code,
                client.post(f"/api/v1/predictions/{created.json()['id']}/cancel/").status_code,
                client.get(f"/apps/{app.slug}/").status_code,
                client.get("/api/schema/").status_code]
    print("ANSWERS", answers)

    import config.wsgi  # noqa: F401 - what gunicorn imports
    from decimal import Decimal
    from billing.services import credit_grant

    credit_grant(user=app.owner, amount=Decimal("50"), memo="test", granted_by=None)
    rows = "".join(f"good news {i},positive\\nbad news {i},negative\\n" for i in range(12))
    dataset = owner.post("/api/v1/datasets/", {"file": SimpleUploadedFile("d.csv", ("text,label\\n" + rows).encode())},
                         format="multipart")
    job = owner.post("/api/v1/training-jobs/", {"base_app": app.slug, "base_version": "1.0.0",
                                                "dataset": dataset.json().get("id")}, format="json")
    print("TRAINING", [dataset.status_code, job.status_code, owner.get("/api/v1/training-jobs/").status_code])
    heavy = sorted(name for name in ("torch", "tensorflow", "keras", "transformers") if name in sys.modules)
    print("HEAVY", heavy)
    worker = sorted(name for name in sys.modules if name.startswith(
        ("inference.worker", "inference.runtimes", "training.worker", "training.trainer")))
    print("WORKER", worker)
    sys.exit(1 if heavy or worker else 0)
""")


def test_web_process_serves_inference_without_importing_ml_frameworks(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",  # development settings, set explicitly (DEBUG is off by default)
        "ALLOWED_HOSTS": "testserver",  # Django's test client outside the test runner: the test sets it itself
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "MODELMARKET_VAR_DIR": str(tmp_path / "var"),
        "HF_HUB_OFFLINE": "1",
    }
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert "ANSWERS [201, 202, 200, 200, 200, 200, 200]" in result.stdout, result.stdout + result.stderr[-3000:]
    assert "TRAINING [201, 201, 200]" in result.stdout, result.stdout + result.stderr[-3000:]
    assert "HEAVY []" in result.stdout and "WORKER []" in result.stdout and result.returncode == 0, result.stdout
