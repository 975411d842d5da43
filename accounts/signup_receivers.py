"""Joining orgs at sign-up (issue 14): allauth's signals, each answered by one invitation service.

- `user_signed_up`: a person who followed an invitation link while logged out (`org_views.org_invitation` keeps
  the token in the session) joins the org as soon as the account exists, if it has the invited address: the
  token, sent only to that address, is the proof, verified or not. Addresses the sign-up already verified (a
  provider's verified email) accept their pending invitations too.
- `email_confirmed`: once the user verifies an address, the pending, unexpired invitations to it are accepted.

An address that is neither verified nor reached through the link never joins anything. Connected in
`AccountsConfig.ready()`.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from config.web_errors import errors_as_messages

from .models import Membership, User
from .org_services import invitation_accept, invitations_accept_for_verified_email
from .org_views import SESSION_INVITATION, SESSION_ORG


def _joined(request: HttpRequest | None, memberships: list[Membership]) -> None:
    if request is None or not memberships:
        return
    request.session[SESSION_ORG] = memberships[0].org.slug
    names = ", ".join(sorted({membership.org.name for membership in memberships}))
    messages.success(request, _("You joined %(org)s.") % {"org": names})


def on_user_signed_up(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    from allauth.account.models import EmailAddress

    joined: list[Membership] = []
    token = request.session.pop(SESSION_INVITATION, None) if request is not None else None
    if token and request is not None:
        with errors_as_messages(request):
            joined.append(invitation_accept(user=user, token=token))
    for email in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        joined += invitations_accept_for_verified_email(user=user, email=email)
    _joined(request, joined)


def on_email_confirmed(sender: Any, request: HttpRequest | None, email_address: Any, **kwargs: Any) -> None:
    if not email_address.verified:
        return
    _joined(request, invitations_accept_for_verified_email(user=email_address.user, email=email_address.email))


def connect() -> None:
    from allauth.account.signals import email_confirmed, user_signed_up

    user_signed_up.connect(on_user_signed_up, dispatch_uid="accounts.org_invitations.signed_up")
    email_confirmed.connect(on_email_confirmed, dispatch_uid="accounts.org_invitations.email_confirmed")
