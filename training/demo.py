"""Demo data for training: the shipped financial news as a ready dataset of the demo developer. Idempotent."""
from pathlib import Path

from django.core.files.base import ContentFile

DEMO_DATASET = Path(__file__).resolve().parents[1] / "inference" / "demo_data" / "financial_news.csv"
DEMO_NAME = "Financial news sentiment (demo)"


def seed_demo(*, stdout) -> None:
    from accounts.models import User

    from .models import Dataset
    from .services import dataset_create

    developer = User.objects.filter(email="dev@modelmarket.local").first()
    if developer is None or not DEMO_DATASET.exists():
        return
    if Dataset.objects.filter(owner=developer, name=DEMO_NAME).exists():
        return
    dataset = dataset_create(owner=developer, file=ContentFile(DEMO_DATASET.read_bytes(), name=DEMO_DATASET.name),
                             name=DEMO_NAME)
    stdout.write(f"Training dataset for dev@modelmarket.local: {dataset.rows} rows, labels {dataset.labels}.")
