"""pg_trgm for typo-tolerant store search (a no-op on SQLite)."""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0004_alter_libraryentry_options_alter_review_options_and_more")]
    operations = [TrigramExtension()]
