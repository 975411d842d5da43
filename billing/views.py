"""Billing pages: the wallet, purchases, the developer's earnings, Connect onboarding, the Stripe webhook."""
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from config.errors import DomainError
from config.templatetags.mm import money_text
from config.web_errors import error_messages, form_add_error, message_error
from marketplace.models import App, PricingModel

from . import charts, selectors, services
from .forms import BudgetForm, TopUpForm
from .services import pricing

LEDGER_PAGE = 25
logger = logging.getLogger(__name__)


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    """Balance, holds, the ledger, budget and spending, and top-up."""
    user = request.user
    if request.GET.get("session_id") and services.stripe_configured():
        try:
            services.checkout_session_sync(session_id=request.GET["session_id"])
        except Exception:  # noqa: BLE001 - the webhook will credit it; the page must still render
            logger.warning("Could not re-check Checkout session %s", request.GET["session_id"], exc_info=True)
    topup_form = TopUpForm()
    budget_form = BudgetForm(initial={"monthly_budget": selectors.user_monthly_budget(user=user)})
    if request.method == "POST" and request.POST.get("action") == "topup":
        topup_form = TopUpForm(request.POST)
        if topup_form.is_valid():
            wallet_url = services.site_url(reverse("billing:wallet"))
            try:
                topup = services.topup_start(
                    user=user, amount=topup_form.cleaned_data["amount"],
                    success_url=wallet_url + "?session_id={CHECKOUT_SESSION_ID}",
                    cancel_url=wallet_url + "?topup=canceled")
                return redirect(topup.checkout_url)
            except DomainError as exc:
                form_add_error(topup_form, exc)
    elif request.method == "POST" and request.POST.get("action") == "budget":
        budget_form = BudgetForm(request.POST)
        if budget_form.is_valid():
            try:
                services.wallet_set_budget(user=user, monthly_budget=budget_form.cleaned_data["monthly_budget"])
                messages.success(request, _("Your monthly budget is saved."))
                return redirect("billing:wallet")
            except DomainError as exc:
                form_add_error(budget_form, exc)
    if request.GET.get("topup") == "canceled":
        messages.info(request, _("The top-up was canceled; nothing was charged."))
    budget = selectors.user_monthly_budget(user=user)
    spent = selectors.user_spent_this_month(user=user)
    # One line per call (hold, charge and release netted); moderators see every posting in the admin.
    page = Paginator(selectors.user_statement_groups(user=user), LEDGER_PAGE).get_page(request.GET.get("page"))
    page.lines = selectors.user_statement_lines(groups=list(page.object_list))
    if page.number == 1:  # running calls (their price on hold) head the first page
        page.lines = selectors.user_running_calls(user=user) + page.lines
    return render(request, "billing/wallet.html", {
        "balance": selectors.user_balance(user=user), "held": selectors.user_held(user=user),
        "budget": budget, "spent": spent,
        "budget_pct": min(100, int(spent * 100 / budget)) if budget else None,
        "page": page, "topup_form": topup_form, "budget_form": budget_form,
        "stripe_enabled": services.stripe_configured(), "currency": settings.CURRENCY,
        "topup_minimum": settings.BILLING_TOPUP_MINIMUM,
        "topups": user.topups.filter(org__isnull=True)[:5], "grants": user.credit_grants.all()[:5],
    })


@login_required
def purchase(request: HttpRequest, slug: str) -> HttpResponse:
    """Buy a paid app: by card (Stripe Checkout) or from wallet credits."""
    app = App.objects.visible_to(request.user).filter(slug=slug).first()
    if app is None or not app.purchase_price:
        raise Http404
    if not services.app_needs_purchase(user=request.user, app=app):
        messages.info(request, _("You already have this app."))
        return redirect(app.get_absolute_url())
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("method") == "card":
                return redirect(services.purchase_start(user=request.user, app=app).checkout_url)
            services.purchase_with_wallet(user=request.user, app=app)
            messages.success(request, _("%(app)s is now in your library.") % {"app": app.name})
            return redirect(app.get_absolute_url())
        except DomainError as exc:
            error = " ".join(error_messages(exc))
    return render(request, "billing/purchase.html", {
        "app": app, "balance": selectors.user_balance(user=request.user), "error": error,
        "stripe_enabled": services.stripe_configured(), "currency": settings.CURRENCY})


@require_GET
def app_price(request: HttpRequest, slug: str) -> JsonResponse:
    """The live price on the app page (polled): no quote is created."""
    app = App.objects.visible_to(request.user).filter(slug=slug).first()
    if app is None:
        raise Http404
    demand = pricing.app_demand(app=app)
    price = pricing.app_price(app=app, demand=demand)
    # The page shows the `_display` texts as they are: the one money format (the `price` filter) and the
    # catalogue's plural forms, so the polling script formats nothing itself.
    demand_display = ngettext("%(n)s call in the last %(s)s s", "%(n)s calls in the last %(s)s s", demand) % {
        "n": demand, "s": app.window_seconds}
    return JsonResponse({"price": str(price), "demand": demand,
                         "window_seconds": app.window_seconds, "currency": settings.CURRENCY,
                         "free": app.pricing_model == PricingModel.FREE,
                         "price_display": money_text(price), "demand_display": demand_display})


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    """The developer's money: earnings, per-app charts, current prices and demand, payouts."""
    user = request.user
    if not user.is_developer:
        raise Http404
    stats = selectors.developer_app_stats(user=user, days=30)
    apps = []
    demands = pricing.apps_demand(apps=stats["apps"])  # one query for the page, not one per app
    for app in stats["apps"]:
        demand = demands[app.pk]
        series = stats["series"][app.pk]
        apps.append({
            "app": app, "demand": demand, "price": pricing.app_price(app=app, demand=demand),
            "calls_chart": charts.bar_chart(charts.daily(series, "calls", stats["since"], stats["days"]),
                                            label=_("Calls per day")),
            "earnings_chart": charts.bar_chart(charts.daily(series, "earnings", stats["since"], stats["days"]),
                                               label=_("Earnings per day"), color="#16a34a"),
            "calls": sum(p["calls"] for p in series.values()),
            "revenue": sum((p["revenue"] for p in series.values()), selectors.ZERO),
            "earned": sum((p["earnings"] for p in series.values()), selectors.ZERO),
        })
    wallet = selectors.wallet_of(user=user)
    return render(request, "billing/earnings.html", {
        "apps": apps, "earnings": selectors.developer_earnings(user=user),
        "payouts": selectors.payouts_of(user=user)[:50], "wallet": wallet,
        "threshold": settings.BILLING_PAYOUT_THRESHOLD, "stripe_enabled": services.stripe_configured(),
        "currency": settings.CURRENCY, "fee_pct": int(settings.PLATFORM_FEE * 100),
    })


@login_required
@require_POST
def connect_onboard(request: HttpRequest) -> HttpResponse:
    if not request.user.is_developer:
        raise Http404
    try:
        url = services.connect_onboarding_link(
            user=request.user, return_url=services.site_url(reverse("billing:connect_return")),
            refresh_url=services.site_url(reverse("billing:earnings")))
    except DomainError as exc:
        message_error(request, exc)
        return redirect("billing:earnings")
    return redirect(url)


@login_required
def connect_return(request: HttpRequest) -> HttpResponse:
    wallet = selectors.wallet_of(user=request.user)
    if wallet and wallet.stripe_account_id and services.stripe_configured():
        services.connect_account_sync(account_id=wallet.stripe_account_id)
        wallet.refresh_from_db()
        if wallet.payouts_enabled:
            messages.success(request, _("Your payout account is ready."))
        else:
            messages.info(request, _("Stripe still needs some details before payouts can start."))
    return redirect("billing:earnings")
