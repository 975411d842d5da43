"""Build (or reuse from var/demo-models/) the demo models and print what they learnt (held-out accuracy)."""
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Train the demo models from the shipped data (cached under var/demo-models/)."

    def handle(self, *args, **options):
        from inference.demo import DEMO_MODELS, _cached

        built = set()
        for slug, (name, builder) in DEMO_MODELS.items():
            if name in built:
                continue
            built.add(name)
            artifact, info = _cached(name, builder)
            self.stdout.write(f"{slug}: {artifact} ({artifact.stat().st_size // 1024} KiB) {info}")
