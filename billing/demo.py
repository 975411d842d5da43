"""Demo data for `manage.py seed_demo`: idempotent, called in order by the command.

Without Stripe keys the platform runs on credits, so every demo account starts with some
(one grant each, never repeated), and the demo user has a monthly budget to show the spend meter.
"""
from decimal import Decimal

from django.conf import settings

from accounts.demo import demo_user

from .models import CreditGrant, Wallet
from .services import credit_grant, wallet_set_budget

DEMO_MEMO = "Welcome credits (demo)"


def seed_demo(*, stdout) -> None:
    amount = settings.BILLING_DEMO_CREDITS
    moderator = demo_user("moderator")
    for role in ("user", "developer", "moderator"):
        user = demo_user(role)
        if not CreditGrant.objects.filter(user=user, memo=DEMO_MEMO).exists():
            credit_grant(user=user, amount=amount, memo=DEMO_MEMO,
                         granted_by=None if user == moderator else moderator)  # nobody grants to themselves
            stdout.write(f"  billing: {amount} credits for {user.email}")
    user = demo_user("user")
    if not Wallet.objects.filter(user=user, monthly_budget__isnull=False).exists():
        wallet_set_budget(user=user, monthly_budget=Decimal("50"))
