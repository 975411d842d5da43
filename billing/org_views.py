"""The organisation wallet page (issue 14): balance, holds, this month's spending against the monthly budget, the
org's ledger, card top-ups, and the earnings of the org's apps with their payouts to the org's Stripe account.

Seeing it takes `wallet.view`; topping up `wallet.topup`, the budget `budget.set`, payouts `payouts.manage`
(the services check those; a forbidden POST answers 403). Non-members get 404.
"""
import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import org_permissions
from accounts.models import Organisation
from config.errors import DomainError, PermissionDenied
from config.web_errors import form_add_error, message_error

from . import selectors, services
from .forms import BudgetForm, TopUpForm

logger = logging.getLogger(__name__)


def _org_with(request: HttpRequest, slug: str, action: str) -> Organisation:
    org = org_permissions.org_for(request.user, slug)
    if not org_permissions.org_can(request.user, org, action):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    return org


def _page_url(org: Organisation) -> str:
    return services.site_url(reverse("billing:org_wallet", kwargs={"slug": org.slug}))


@login_required
def org_wallet(request: HttpRequest, slug: str) -> HttpResponse:
    """Members with `billing`, `admin` or `owner` (others 403; non-members 404)."""
    org = _org_with(request, slug, org_permissions.WALLET_VIEW)
    if request.GET.get("session_id") and services.stripe_configured():
        try:
            services.checkout_session_sync(session_id=request.GET["session_id"])
        except Exception:  # noqa: BLE001 - the webhook will credit it; the page must still render
            logger.warning("Could not re-check Checkout session %s", request.GET["session_id"], exc_info=True)
    wallet = selectors.org_wallet_of(org=org)
    topup_form = TopUpForm()
    budget_form = BudgetForm(initial={"monthly_budget": wallet.monthly_budget if wallet else None})
    action = request.POST.get("action") if request.method == "POST" else None
    try:
        if action == "topup":
            topup_form = TopUpForm(request.POST)
            if topup_form.is_valid():
                topup = services.topup_start(user=request.user, org=org, amount=topup_form.cleaned_data["amount"],
                                             success_url=_page_url(org) + "?session_id={CHECKOUT_SESSION_ID}",
                                             cancel_url=_page_url(org) + "?topup=canceled")
                return redirect(topup.checkout_url)
        elif action == "budget":
            budget_form = BudgetForm(request.POST)
            if budget_form.is_valid():
                services.org_budget_set(actor=request.user, org=org,
                                        monthly_budget=budget_form.cleaned_data["monthly_budget"])
                messages.success(request, _("The organisation's monthly budget is saved."))
                return redirect("billing:org_wallet", slug=org.slug)
    except PermissionDenied:
        raise
    except DomainError as exc:
        form_add_error(topup_form if action == "topup" else budget_form, exc)
    if request.GET.get("topup") == "canceled":
        messages.info(request, _("The top-up was canceled; nothing was charged."))
    return render(request, "billing/org_wallet.html", _context(request, org, topup_form=topup_form,
                                                               budget_form=budget_form))


def _context(request: HttpRequest, org: Organisation, *, topup_form: TopUpForm,
             budget_form: BudgetForm) -> dict[str, Any]:
    available, held = selectors.org_balance(org=org)
    wallet = selectors.org_wallet_of(org=org)
    budget = wallet.monthly_budget if wallet else None
    spent = selectors.org_spent_this_month(org=org)
    page = Paginator(selectors.org_ledger(org=org), 25).get_page(request.GET.get("page"))
    lines = [{"at": entry.transaction.created_at, "kind": entry.transaction.kind,
              "label": entry.transaction.get_kind_display(), "memo": entry.transaction.memo,
              "amount": selectors.user_facing_amount(entry)} for entry in page]
    can = {action: org_permissions.org_can(request.user, org, action) for action in
           (org_permissions.WALLET_TOPUP, org_permissions.BUDGET_SET, org_permissions.PAYOUTS_MANAGE)}
    return {
        "org": org, "balance": available, "held": held, "spent": spent, "budget": budget,
        "budget_pct": min(100, int(spent * 100 / budget)) if budget else None,
        "page": page, "lines": lines, "topup_form": topup_form, "budget_form": budget_form,
        "can_topup": can[org_permissions.WALLET_TOPUP], "can_set_budget": can[org_permissions.BUDGET_SET],
        "can_manage_payouts": can[org_permissions.PAYOUTS_MANAGE],
        "stripe_enabled": services.stripe_configured(), "currency": settings.CURRENCY,
        "topup_minimum": settings.BILLING_TOPUP_MINIMUM, "topups": org.topups.all()[:5],
        "earnings": selectors.org_earnings(org=org), "payouts": selectors.org_payouts(org=org)[:20],
        "wallet": wallet, "threshold": settings.BILLING_PAYOUT_THRESHOLD,
    }


@login_required
@require_POST
def org_connect_onboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Start (or finish) Stripe Connect onboarding of the org's own payout account: roles with `payouts.manage`."""
    org = org_permissions.org_for(request.user, slug)
    try:
        url = services.connect_onboarding_link(
            user=request.user, org=org,
            return_url=services.site_url(reverse("billing:org_connect_return", kwargs={"slug": org.slug})),
            refresh_url=_page_url(org))
    except PermissionDenied:
        raise
    except DomainError as exc:
        message_error(request, exc)
        return redirect("billing:org_wallet", slug=org.slug)
    return redirect(url)


@login_required
def org_connect_return(request: HttpRequest, slug: str) -> HttpResponse:
    """Back from Stripe's onboarding: re-read the org's Connect account, say whether payouts can start."""
    org = _org_with(request, slug, org_permissions.WALLET_VIEW)
    wallet = selectors.org_wallet_of(org=org)
    if wallet and wallet.stripe_account_id and services.stripe_configured():
        services.connect_account_sync(account_id=wallet.stripe_account_id)
        wallet.refresh_from_db()
        if wallet.payouts_enabled:
            messages.success(request, _("The organisation's payout account is ready."))
        else:
            messages.info(request, _("Stripe still needs some details before payouts can start."))
    return redirect("billing:org_wallet", slug=org.slug)
