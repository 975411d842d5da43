"""Reads for organisations."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from .balance_port import org_spent_this_month_by_member
from .models import Invitation, Membership, Organisation, OrganisationQuerySet, OrgRole, User


def orgs_for(*, user: User) -> OrganisationQuerySet:
    """The caller's orgs, each annotated with the caller's `role`."""
    return Organisation.objects.visible_to(user).annotate(role=F("memberships__role")).order_by("name", "pk")


def members_of(*, org: Organisation, with_spending: bool = False) -> list[Membership | Invitation]:
    """Members (oldest first), then invitations still pending.

    With `with_spending`, each membership carries `spent_this_month`: what the member spent of the org's wallet
    since the first of the month (held plus settled calls, as the per-member cap counts it).
    """
    memberships = list(Membership.objects.filter(org=org).select_related("user"))
    if with_spending:
        spent = org_spent_this_month_by_member(org=org)
        for membership in memberships:
            membership.spent_this_month = spent.get(membership.user_id, Decimal("0"))  # type: ignore[attr-defined]
    members: list[Membership | Invitation] = list(memberships)
    members += list(Invitation.objects.filter(org=org, accepted_at__isnull=True, expires__gt=timezone.now()))
    return members


def orgs_last_owned_by(*, user: User) -> list[Organisation]:
    """Orgs where `user` is the only owner while others are members: the user cannot leave them yet."""
    owned = Organisation.objects.filter(memberships__user=user, memberships__role=OrgRole.OWNER)
    return list(owned.exclude(pk__in=Membership.objects.filter(role=OrgRole.OWNER).exclude(user=user).values("org_id"))
                .filter(pk__in=Membership.objects.exclude(user=user).values("org_id")).order_by("name", "pk"))


def orgs_only_member(*, user: User) -> list[Organisation]:
    """Orgs whose only member is `user`."""
    return list(Organisation.objects.filter(memberships__user=user)
                .exclude(pk__in=Membership.objects.exclude(user=user).values("org_id")).order_by("name", "pk"))
