"""Reads for organisations."""
from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from .models import Invitation, Membership, Organisation, OrganisationQuerySet, User


def orgs_for(*, user: User) -> OrganisationQuerySet:
    """The caller's orgs, each annotated with the caller's `role`."""
    return Organisation.objects.visible_to(user).annotate(role=F("memberships__role")).order_by("name", "pk")


def members_of(*, org: Organisation) -> list[Membership | Invitation]:
    """Members (oldest first), then invitations still pending."""
    members: list[Membership | Invitation] = list(Membership.objects.filter(org=org).select_related("user"))
    members += list(Invitation.objects.filter(org=org, accepted_at__isnull=True, expires__gt=timezone.now()))
    return members
