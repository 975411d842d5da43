"""Re-encrypt every stored prediction input and output with the newest key (the first of PREDICTION_ENCRYPTION_KEYS).

Rotation: generate a key (`--new-key` prints one), put it first in PREDICTION_ENCRYPTION_KEYS with the old keys
after it, restart the processes, run this command, then remove the old keys. Resumable: rows already on the newest
key are skipped.
"""
from django.core.management.base import BaseCommand, CommandError

from config.crypto import EncryptionKeyError, generate_key
from privacy.services import prediction_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt prediction inputs and outputs with the first key of PREDICTION_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="Print a fresh Fernet key and exit.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, new_key: bool = False, batch_size: int = 500, **options):
        if new_key:
            self.stdout.write(generate_key())
            return
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            rewritten = prediction_keys_rotate(batch_size=batch_size)
        except EncryptionKeyError as exc:
            raise CommandError(f"{exc} Add the key the data was written with to PREDICTION_ENCRYPTION_KEYS.") from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rewritten} predictions with the newest key."))
