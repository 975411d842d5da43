"""`manage.py usage_rollup [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: (re)build the usage rollups for a range.

Without dates it does what the periodic task does (the last ANALYTICS_ROLLUP_DAYS days). Longer ranges are
done a year at a time, e.g. to backfill after installing analytics on a site with history.
"""
import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import MAX_RANGE_DAYS, usage_rollup


class Command(BaseCommand):
    help = "Recompute the daily usage rollups (calls, errors, callers, latency, revenue and cost) for a range."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="Last day (default: today).")

    def handle(self, *args, start=None, end=None, **options):
        end = end or timezone.localdate()
        start = start or end - dt.timedelta(days=settings.ANALYTICS_ROLLUP_DAYS - 1)
        if start > end:
            raise CommandError("--from must not be after --to")
        rows = 0
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + dt.timedelta(days=MAX_RANGE_DAYS - 1))
            rows += usage_rollup(start=chunk_start, end=chunk_end).rows
            chunk_start = chunk_end + dt.timedelta(days=1)
        self.stdout.write(f"{rows} rollup rows for {start} .. {end}")
