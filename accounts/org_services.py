"""Writes for organisations: create, invite (existing users join at once, others by emailed link), accept,
change a member's role, remove a member. Permissions come from `org_permissions` (the one table).

Raises `config.errors`: `PermissionDenied` (403), `InvalidInput` (400), `Conflict` (409: the last owner
cannot leave or be demoted; an invitation already used or expired).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from config.errors import Conflict, InvalidInput, NotFound, PermissionDenied

from . import org_permissions as perms
from .models import ApiKey, Invitation, Membership, Organisation, OrgRole, User

INVITATION_DAYS = 7


@dataclass(frozen=True)
class InviteResult:
    """Either a membership (an existing user joined at once) or an invitation (emailed)."""

    membership: Membership | None
    invitation: Invitation | None


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "org")[:50]
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def org_create(*, user: User, name: str) -> Organisation:
    """A new org; its creator is its owner."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": [_("This field may not be blank.")]})
    for _attempt in range(3):
        try:
            with transaction.atomic():
                org = Organisation.objects.create(slug=_unique_slug(name), name=name[:100])
                break
        except IntegrityError:
            continue
    else:
        raise Conflict(_("Could not choose a unique address for this organisation; try another name."))
    Membership.objects.create(org=org, user=user, role=OrgRole.OWNER)
    return org


def _require(user: User, org: Organisation, action: str) -> None:
    if not perms.org_can(user, org, action):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))


def _check_role(role: str) -> None:
    if role not in OrgRole.values:
        raise InvalidInput(fields={"role": [_("Choose one of: %(roles)s.") % {"roles": ", ".join(OrgRole.values)}]})


def _require_for_role(actor: User, org: Organisation, role: str) -> None:
    """Managing members needs `members.manage`; making or unmaking an owner needs `owners.manage` too."""
    _require(actor, org, perms.MEMBERS_MANAGE)
    if role == OrgRole.OWNER:
        _require(actor, org, perms.OWNERS_MANAGE)


def invitation_url(invitation: Invitation) -> str:
    return reverse("accounts:org_invitation_accept", args=[invitation.token])


@transaction.atomic
def member_invite(*, actor: User, org: Organisation, email: str, role: str) -> InviteResult:
    _check_role(role)
    _require_for_role(actor, org, role)
    email = User.objects.normalize_email((email or "").strip())
    existing = User.objects.filter(email__iexact=email, is_active=True, deleted_at__isnull=True).first()
    if existing is not None:
        membership, created = Membership.objects.get_or_create(org=org, user=existing, defaults={"role": role})
        if not created:
            raise Conflict(_("This person is already a member."), code="already_member")
        return InviteResult(membership=membership, invitation=None)
    invitation = Invitation.objects.create(
        org=org, email=email, role=role, token=secrets.token_urlsafe(32), invited_by=actor,
        expires=timezone.now() + dt.timedelta(days=INVITATION_DAYS))
    link = settings.SITE_URL.rstrip("/") + invitation_url(invitation)
    subject = _("You are invited to join %(org)s on ModelMarket") % {"org": org.name}
    body = _("%(who)s invited you to join %(org)s as %(role)s. Sign up or log in with this email address, then "
             "open this link to join (it expires in %(days)s days):") % {
        "who": actor.username, "org": org.name, "role": invitation.get_role_display(), "days": INVITATION_DAYS}
    transaction.on_commit(lambda: send_mail(subject, f"{body}\n\n{link}", None, [email], fail_silently=True))
    return InviteResult(membership=None, invitation=invitation)


def _join(invitation: Invitation, user: User) -> Membership:
    """Mark a locked, pending invitation used and make `user` a member (a member already keeps their role)."""
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    membership, _created = Membership.objects.get_or_create(org=invitation.org, user=user,
                                                            defaults={"role": invitation.role})
    return membership


@transaction.atomic
def invitation_accept(*, user: User, token: str) -> Membership:
    """Join the org of an invitation sent to this user's email address (once, before it expires).

    The token is the proof: it was only ever sent to the invited address, so whoever follows the link with an
    account of that address joins, verified or not (a sign-up that came through the link, see `signup_receivers`).
    """
    invitation = Invitation.objects.select_for_update().filter(token=token).select_related("org").first()
    if invitation is None or invitation.email.lower() != (user.email or "").lower():
        raise NotFound(_("This invitation does not exist or was sent to another email address."))
    if invitation.accepted_at is not None:
        raise Conflict(_("This invitation was already used."), code="invitation_used")
    if invitation.expires <= timezone.now():
        raise Conflict(_("This invitation has expired: ask for a new one."), code="invitation_expired")
    return _join(invitation, user)


@transaction.atomic
def invitations_accept_for_verified_email(*, user: User, email: str) -> list[Membership]:
    """Accept every pending, unexpired invitation to `email`, once the user has proved they own it.

    Call it only for an address the user has just verified (allauth's `email_confirmed`): without the token,
    verification is the only proof that the invitations are theirs. Answers the memberships made or kept.
    """
    email = (email or "").strip()
    if not email or user.deleted_at is not None or not user.is_active:
        return []
    pending = (Invitation.objects.select_for_update().select_related("org")
               .filter(email__iexact=email, accepted_at__isnull=True, expires__gt=timezone.now()).order_by("pk"))
    return [_join(invitation, user) for invitation in pending]


def _owners_left(org: Organisation, without: Membership) -> int:
    return Membership.objects.filter(org=org, role=OrgRole.OWNER).exclude(pk=without.pk).count()


def _lock_owners(org: Organisation) -> None:
    """Serialise changes to an org's owners (two owners demoting each other must not leave none)."""
    Organisation.objects.select_for_update().filter(pk=org.pk).first()


@transaction.atomic
def member_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    _check_role(role)
    org = membership.org
    _require_for_role(actor, org, role)
    if membership.role == OrgRole.OWNER:
        _require(actor, org, perms.OWNERS_MANAGE)
    _lock_owners(org)
    membership.refresh_from_db()
    if membership.role == OrgRole.OWNER and role != OrgRole.OWNER and _owners_left(org, membership) == 0:
        raise Conflict(_("An organisation needs an owner: make someone else owner first."), code="last_owner")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_set_cap(*, actor: User, membership: Membership, spend_cap: Decimal | None) -> Membership:
    """The most a member may spend of the org's wallet per calendar month (None: no cap)."""
    _require(actor, membership.org, perms.CAPS_SET)
    if spend_cap is not None and spend_cap < 0:
        raise InvalidInput(fields={"spend_cap": [_("Enter a non-negative amount.")]})
    membership.spend_cap = spend_cap
    membership.save(update_fields=["spend_cap"])
    return membership


@transaction.atomic
def member_remove(*, actor: User, membership: Membership) -> None:
    """Remove a member (or leave, when it is the actor's own membership)."""
    org = membership.org
    if membership.user_id != actor.pk:
        _require_for_role(actor, org, membership.role)
    _lock_owners(org)
    if membership.role == OrgRole.OWNER and _owners_left(org, membership) == 0:
        raise Conflict(_("An organisation needs an owner: make someone else owner first."), code="last_owner")
    membership.delete()


@transaction.atomic
def memberships_end(*, user: User) -> list[Organisation]:
    """The user leaves every org (account deletion): memberships removed, org API keys revoked.

    No owner check here: the caller refuses first when the user is an org's last owner with other members
    (`org_selectors.orgs_last_owned_by`). An org left without members keeps its books and apps but loses its
    pending invitations, so nobody joins an org nobody can manage. Answers the orgs left empty.
    """
    org_ids = list(Membership.objects.filter(user=user).values_list("org_id", flat=True))
    ApiKey.objects.filter(user=user, org_id__isnull=False, revoked_at__isnull=True).update(revoked_at=timezone.now())
    Membership.objects.filter(user=user).delete()
    emptied = list(Organisation.objects.filter(pk__in=org_ids).exclude(
        pk__in=Membership.objects.values("org_id")).order_by("pk"))
    Invitation.objects.filter(org__in=emptied, accepted_at__isnull=True).delete()
    return emptied
