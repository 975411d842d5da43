"""Billing's writes, one module per topic; everything public is re-exported here (`from billing import services`).

- `pricing`        demand n, P = base + k·n capped at the max price, quotes, training and compute rates:
                   the one place a price is computed;
- `admission`      holds, budgets and key caps, the free tier, settlement and release (one call or a batch);
- `wallet`         budgets, credit grants, refunds (ours and those made on Stripe);
- `checkout`       Stripe Checkout top-ups (of a user's or an org's wallet) and app purchases (no Stripe call
                   inside a DB transaction);
- `orgs`           organisations' wallets: grants, the monthly budget, admission against them;
- `stripe_events`  receive, verify, process each Stripe event and record its handler status;
- `payouts`        Connect onboarding and payouts (developers' and organisations' earnings);
- `stripe_api`     the SDK client every Stripe call goes through.

Inference and training call billing only through `billing.contract`.
"""
from .admission import (
    Admission,
    charge_admit,
    prediction_admit,
    prediction_release,
    prediction_settle,
    prediction_settle_partial,
    predictions_finish_batch,
    training_admit,
    training_release,
    training_settle,
)
from .checkout import (
    app_needs_purchase,
    checkout_session_apply,
    checkout_session_sync,
    purchase_checkout_url,
    purchase_complete,
    purchase_start,
    purchase_with_wallet,
    topup_amount_validate,
    topup_complete,
    topup_start,
)
from .orgs import org_budget_set, org_credit_grant
from .payouts import (
    connect_account_apply,
    connect_account_sync,
    connect_onboarding_link,
    payout_create,
    payout_fail,
    payout_send,
    payouts_run,
)
from .pricing import (
    app_demand,
    app_price,
    app_prices,
    apps_demand,
    compute_cost,
    cost_rate,
    fee_split,
    price_formula,
    quote_create,
    training_price,
    training_rate,
)
from .stripe_api import StripeCallInTransaction, site_url, stripe_client, stripe_configured
from .stripe_events import stripe_event_process, stripe_event_receive
from .wallet import (
    REFUND_SHORTFALL_ACTION,
    charge_refund,
    charge_refunds_sync,
    credit_grant,
    parse_amount,
    topup_refund,
    wallet_set_budget,
)

__all__ = [
    "org_budget_set",
    "org_credit_grant",
    "Admission",
    "REFUND_SHORTFALL_ACTION",
    "StripeCallInTransaction",
    "app_demand",
    "app_needs_purchase",
    "app_price",
    "app_prices",
    "apps_demand",
    "charge_admit",
    "charge_refund",
    "charge_refunds_sync",
    "checkout_session_apply",
    "checkout_session_sync",
    "compute_cost",
    "connect_account_apply",
    "connect_account_sync",
    "connect_onboarding_link",
    "cost_rate",
    "credit_grant",
    "fee_split",
    "parse_amount",
    "payout_create",
    "payout_fail",
    "payout_send",
    "payouts_run",
    "prediction_admit",
    "prediction_release",
    "prediction_settle",
    "prediction_settle_partial",
    "predictions_finish_batch",
    "price_formula",
    "purchase_checkout_url",
    "purchase_complete",
    "purchase_start",
    "purchase_with_wallet",
    "quote_create",
    "site_url",
    "stripe_client",
    "stripe_configured",
    "stripe_event_process",
    "stripe_event_receive",
    "topup_amount_validate",
    "topup_complete",
    "topup_refund",
    "topup_start",
    "training_admit",
    "training_price",
    "training_rate",
    "training_release",
    "training_settle",
    "wallet_set_budget",
]
