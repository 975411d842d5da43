"""`manage.py seed_demo`: idempotent demo data, each app adding its part in order (it uses every app, so it
lives in config, the composition root)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import demo as accounts_demo
from billing import demo as billing_demo
from community import demo as community_demo
from inference import demo as inference_demo
from marketplace import demo as marketplace_demo
from training import demo as training_demo


class Command(BaseCommand):
    help = "Create demo users, apps, models, money and forum threads (safe to run again)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # The demo has a superuser with a published password: never on a production database.
            raise CommandError("seed_demo creates accounts with known passwords; it runs only with DEBUG=true.")
        for module in (accounts_demo, marketplace_demo, inference_demo, training_demo, billing_demo, community_demo):
            module.seed_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
