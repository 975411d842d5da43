"""Who may do what in an organisation: the ONE table of role → allowed actions, and `org_can`.

Visibility is `Organisation.objects.visible_to(user)` (members only; anyone else's org answers 404); this
module decides what a member may do (403 otherwise). Roles (shared/API.md): `owner` everything; `admin`
members, keys and caps; `developer` publishes the org's apps; `billing` the wallet, top-ups, caps, the monthly
budget and payouts of the org's earnings; `member` runs apps on the org's wallet.
"""
from __future__ import annotations

from config.errors import NotFound

from .models import Membership, Organisation, OrganisationQuerySet, OrgRole, User

VIEW = "view"                      # see the org and its members
RUN = "run"                        # run apps on the org's wallet (an org API key for oneself)
MEMBERS_MANAGE = "members.manage"  # invite, change roles, remove (not owners)
OWNERS_MANAGE = "owners.manage"    # make or unmake owners
KEYS_MANAGE = "keys.manage"        # see and revoke the members' org keys
CAPS_SET = "caps.set"              # per-key and per-member spend caps
WALLET_VIEW = "wallet.view"        # balance and ledger
WALLET_TOPUP = "wallet.topup"      # Stripe Checkout top-ups
APPS_PUBLISH = "apps.publish"      # create and publish the org's apps
BUDGET_SET = "budget.set"          # the org wallet's monthly budget
PAYOUTS_MANAGE = "payouts.manage"  # the org's Stripe Connect account (where its earnings are paid out)

ACTIONS = (VIEW, RUN, MEMBERS_MANAGE, OWNERS_MANAGE, KEYS_MANAGE, CAPS_SET, WALLET_VIEW, WALLET_TOPUP,
           APPS_PUBLISH, BUDGET_SET, PAYOUTS_MANAGE)

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    OrgRole.OWNER: frozenset(ACTIONS),
    OrgRole.ADMIN: frozenset({VIEW, RUN, MEMBERS_MANAGE, KEYS_MANAGE, CAPS_SET, WALLET_VIEW, APPS_PUBLISH}),
    OrgRole.DEVELOPER: frozenset({VIEW, RUN, APPS_PUBLISH}),
    OrgRole.BILLING: frozenset({VIEW, RUN, CAPS_SET, WALLET_VIEW, WALLET_TOPUP, BUDGET_SET, PAYOUTS_MANAGE}),
    OrgRole.MEMBER: frozenset({VIEW, RUN}),
}


def role_of(user: User | None, org: Organisation) -> str | None:
    """The user's role in the org, or None for non-members (and anonymous users)."""
    if user is None or not user.is_authenticated:
        return None
    cache = getattr(org, "_roles", None)
    if cache is None:
        cache = org._roles = {}  # type: ignore[attr-defined]
    if user.pk not in cache:
        cache[user.pk] = Membership.objects.filter(org=org, user=user).values_list("role", flat=True).first()
    return cache[user.pk]


def role_can(role: str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"Unknown org action {action!r}")
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def roles_with(action: str) -> list[str]:
    """The roles allowed `action`, from the table (for queries: "the orgs where this user may publish")."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown org action {action!r}")
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def orgs_where(user: User | None, action: str) -> OrganisationQuerySet:
    """The orgs where `user` may do `action` (none for anonymous users)."""
    if user is None or not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, memberships__role__in=roles_with(action))


def org_can(user: User | None, org: Organisation, action: str) -> bool:
    """Whether `user` may do `action` in `org` (False for non-members)."""
    return role_can(role_of(user, org), action)


def org_for(user: User | None, slug: str) -> Organisation:
    """The org with this slug if `user` is a member, else `NotFound` (its existence does not leak)."""
    org = Organisation.objects.visible_to(user).filter(slug=slug).first()
    if org is None:
        raise NotFound()
    return org
