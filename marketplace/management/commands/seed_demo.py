"""`manage.py seed_demo`: idempotent demo data, each app adding its part in order."""
from django.core.management.base import BaseCommand

from accounts import demo as accounts_demo
from billing import demo as billing_demo
from community import demo as community_demo
from inference import demo as inference_demo
from inference.training import demo as training_demo
from marketplace import demo as marketplace_demo


class Command(BaseCommand):
    help = "Create demo users, apps, models, money and forum threads (safe to run again)."

    def handle(self, *args, **options):
        for module in (accounts_demo, marketplace_demo, inference_demo, training_demo, billing_demo, community_demo):
            module.seed_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
