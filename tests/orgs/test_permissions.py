"""The org role matrix: every role × every action, from ONE expected table, through `org_can` and the services."""
import pytest

from accounts import org_permissions as perms
from accounts.models import Membership, Organisation, OrgRole
from accounts.org_services import org_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "developer", "billing", "member", "outsider")
# action -> allowed per role, in ROLES order (shared/API.md: admin members/keys/caps, developer publishes,
# billing wallet/top-ups/caps/budget/payouts, member runs apps on the org's wallet; outsiders nothing).
EXPECTED = {
    perms.VIEW:           (1, 1, 1, 1, 1, 0),
    perms.RUN:            (1, 1, 1, 1, 1, 0),
    perms.MEMBERS_MANAGE: (1, 1, 0, 0, 0, 0),
    perms.OWNERS_MANAGE:  (1, 0, 0, 0, 0, 0),
    perms.KEYS_MANAGE:    (1, 1, 0, 0, 0, 0),
    perms.CAPS_SET:       (1, 1, 0, 1, 0, 0),
    perms.WALLET_VIEW:    (1, 1, 0, 1, 0, 0),
    perms.WALLET_TOPUP:   (1, 0, 0, 1, 0, 0),
    perms.APPS_PUBLISH:   (1, 1, 1, 0, 0, 0),
    perms.BUDGET_SET:     (1, 0, 0, 1, 0, 0),
    perms.PAYOUTS_MANAGE: (1, 0, 0, 1, 0, 0),
}


def test_the_table_names_every_action_and_role():
    assert set(EXPECTED) == set(perms.ACTIONS)
    assert set(perms.ROLE_ACTIONS) == set(OrgRole.values)


@pytest.fixture
def org_world():
    owner = UserFactory()
    org = org_create(user=owner, name="Acme Labs")
    users = {"owner": owner, "outsider": UserFactory()}
    for role in ("admin", "developer", "billing", "member"):
        users[role] = UserFactory()
        Membership.objects.create(org=org, user=users[role], role=role)
    return org, users


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(org_world, role, action):
    org, users = org_world
    expected = bool(EXPECTED[action][ROLES.index(role)])
    assert perms.org_can(users[role], Organisation.objects.get(pk=org.pk), action) is expected


def test_visible_to_members_only(org_world):
    org, users = org_world
    other = org_create(user=users["outsider"], name="Elsewhere")
    for role in ROLES[:-1]:
        assert list(Organisation.objects.visible_to(users[role])) == [org]
    assert list(Organisation.objects.visible_to(users["outsider"])) == [other]
    from django.contrib.auth.models import AnonymousUser

    assert not Organisation.objects.visible_to(AnonymousUser()).exists()
    assert perms.org_can(AnonymousUser(), org, perms.VIEW) is False


def test_unknown_action_is_a_bug(org_world):
    org, users = org_world
    with pytest.raises(ValueError):
        perms.org_can(users["owner"], org, "fly")
