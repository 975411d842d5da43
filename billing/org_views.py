"""The organisation wallet page (issue 14): balance, holds, this month's spending and the org's ledger."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts import org_permissions
from config.errors import PermissionDenied

from . import selectors


@login_required
def org_wallet(request: HttpRequest, slug: str) -> HttpResponse:
    """Members with `billing`, `admin` or `owner` (others 403; non-members 404)."""
    org = org_permissions.org_for(request.user, slug)
    if not org_permissions.org_can(request.user, org, org_permissions.WALLET_VIEW):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    available, held = selectors.org_balance(org=org)
    page = Paginator(selectors.org_ledger(org=org), 25).get_page(request.GET.get("page"))
    lines = [{"at": entry.transaction.created_at, "kind": entry.transaction.kind,
              "label": entry.transaction.get_kind_display(), "memo": entry.transaction.memo,
              "amount": selectors.user_facing_amount(entry)} for entry in page]
    return render(request, "billing/org_wallet.html", {
        "org": org, "balance": available, "held": held, "spent": selectors.org_spent_this_month(org=org),
        "page": page, "lines": lines})
