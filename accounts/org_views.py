"""Organisation pages: my orgs (create, switch), members (invite, change role, set a member's monthly cap, remove),
invitation links."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.web_errors import errors_as_messages

from . import org_permissions as perms
from .forms import MemberCapForm
from .models import Invitation, Membership, OrgRole
from .org_permissions import org_for
from .org_selectors import members_of, orgs_for
from .org_services import (
    invitation_accept,
    member_change_role,
    member_invite,
    member_remove,
    member_set_cap,
    org_create,
)

SESSION_ORG = "current_org"
SESSION_INVITATION = "org_invitation_token"  # an invitation link followed while logged out (joins at sign-up)


@login_required
def orgs_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        with errors_as_messages(request) as outcome:
            org = org_create(user=request.user, name=request.POST.get("name", ""))
        if not outcome["failed"]:
            request.session[SESSION_ORG] = org.slug
            messages.success(request, _("Organisation created."))
            return redirect("accounts:org_members", slug=org.slug)
        return redirect("accounts:orgs")
    return render(request, "accounts/orgs.html", {"orgs": orgs_for(user=request.user)})


@login_required
@require_POST
def org_switch(request: HttpRequest) -> HttpResponse:
    """Choose the org the pages act for (empty: the personal account)."""
    slug = request.POST.get("org", "")
    if slug:
        org_for(request.user, slug)  # 404 for someone else's org
        request.session[SESSION_ORG] = slug
    else:
        request.session.pop(SESSION_ORG, None)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    return redirect(target or "accounts:orgs")


@login_required
def org_members(request: HttpRequest, slug: str) -> HttpResponse:
    org = org_for(request.user, slug)
    if request.method == "POST":
        with errors_as_messages(request) as outcome:
            result = member_invite(actor=request.user, org=org, email=request.POST.get("email", ""),
                                   role=request.POST.get("role", OrgRole.MEMBER))
        if not outcome["failed"]:
            messages.success(request, _("%(email)s joined.") % {"email": request.POST.get("email", "")}
                             if result.membership else _("Invitation sent."))
        return redirect("accounts:org_members", slug=org.slug)
    can_set_caps = perms.org_can(request.user, org, perms.CAPS_SET)
    return render(request, "accounts/org_members.html", {
        "org": org, "members": members_of(org=org, with_spending=can_set_caps), "roles": OrgRole.choices,
        "my_role": perms.role_of(request.user, org),
        "can_manage": perms.org_can(request.user, org, perms.MEMBERS_MANAGE), "can_set_caps": can_set_caps,
        "can_see_wallet": perms.org_can(request.user, org, perms.WALLET_VIEW)})


@login_required
@require_POST
def org_member_update(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    org = org_for(request.user, slug)
    membership = get_object_or_404(Membership.objects.select_related("user", "org"), org=org, pk=member_id)
    with errors_as_messages(request) as outcome:
        if request.POST.get("remove"):
            member_remove(actor=request.user, membership=membership)
        elif "spend_cap" in request.POST:  # the cap form; an empty value clears the cap
            form = MemberCapForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["spend_cap"])
            member_set_cap(actor=request.user, membership=membership, spend_cap=form.cleaned_data["spend_cap"])
        else:
            member_change_role(actor=request.user, membership=membership, role=request.POST.get("role", ""))
    if not outcome["failed"]:
        messages.success(request, _("Saved."))
    if membership.user_id == request.user.pk and request.POST.get("remove") and not outcome["failed"]:
        return redirect("accounts:orgs")
    return redirect("accounts:org_members", slug=org.slug)


def org_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: shows the invitation to the invited address's account, and joins on POST.

    Logged out, the page asks to sign up (or log in) and keeps the token in the session: signing up with the
    invited address then joins at once (`signup_receivers`).
    """
    if not request.user.is_authenticated:
        invitation = get_object_or_404(Invitation.objects.select_related("org"), token=token)
        if invitation.accepted_at is None:
            request.session[SESSION_INVITATION] = token
        return render(request, "accounts/org_invitation.html", {
            "invitation": invitation, "next": reverse("accounts:org_invitation_accept", args=[token]),
            "signup_query": urlencode({"email": invitation.email})})
    invitation = get_object_or_404(Invitation.objects.select_related("org"), token=token,
                                   email__iexact=request.user.email)
    if request.method == "POST":
        with errors_as_messages(request) as outcome:
            membership = invitation_accept(user=request.user, token=token)
        if not outcome["failed"]:
            request.session.pop(SESSION_INVITATION, None)
            request.session[SESSION_ORG] = membership.org.slug
            messages.success(request, _("You joined %(org)s.") % {"org": membership.org.name})
            return redirect("accounts:org_members", slug=membership.org.slug)
    return render(request, "accounts/org_invitation.html", {"invitation": invitation})
