"""`manage.py check_ledger`: prove the books balance (exit status 1 if they do not)."""
import sys

from django.core.management.base import BaseCommand

from billing.selectors import economics, economics_totals, ledger_check


class Command(BaseCommand):
    help = "Check that every transaction balances, all entries sum to zero and no balance is negative."

    def handle(self, *args, **options):
        report = ledger_check()
        self.stdout.write(f"{report.transactions} transactions, {report.entries} entries, sum {report.total}")
        for kind, balance in report.balances.items():
            self.stdout.write(f"  {kind:<16} {balance:>20}")
        totals = economics_totals(economics())
        self.stdout.write(f"R {totals.revenue}  C {totals.cost}  developer share {totals.developer_share}  "
                          f"platform fee {totals.platform_fee}  P = R - C {totals.profit}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The ledger is balanced."))
            return
        for problem in report.problems:
            self.stderr.write(self.style.ERROR(problem))
        sys.exit(1)
