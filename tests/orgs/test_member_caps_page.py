"""The members page (issue 14): members with `caps.set` see and edit each member's monthly cap and what each
member spent of the org's wallet this month; the cap they set is the one admission enforces."""
import re
from decimal import Decimal as D

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.org_services import org_create
from accounts.services import api_key_create
from billing import services
from config.errors import PaymentRequired
from tests.billing.conftest import admit, finish, fund
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app, status="ready")
    owner, biller, developer, member = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=biller, role="billing")
    Membership.objects.create(org=org, user=developer, role="developer")
    Membership.objects.create(org=org, user=member, role="member")
    services.org_credit_grant(org=org, amount="10", memo="seed", granted_by=None)
    return app, org, owner, biller, developer, member


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _key(user, org):
    return api_key_create(user=user, name="org key", scopes=["predict"], org=org).api_key


def _spent_cell(page: str, membership: Membership) -> str:
    found = re.search(rf'<td class="num nowrap member-spent" data-member="{membership.pk}" data-amount="([^"]+)">',
                      page)
    assert found, f"no spent cell for member {membership.pk}"
    return found.group(1)


def test_cap_setters_see_each_members_spending_this_month(world):
    app, org, owner, biller, developer, member = world
    finish(admit(member, app, api_key=_key(member, org)))   # settled: 1
    admit(member, app, api_key=_key(member, org))            # still held: counts too
    finish(admit(owner, app, api_key=_key(owner, org)))
    fund(member, "1")
    admit(member, app)  # a personal call (no org key) is not the org's spending
    page = _client(biller).get("/orgs/acme/members/").content.decode()
    assert D(_spent_cell(page, Membership.objects.get(user=member))) == D("2")
    assert D(_spent_cell(page, Membership.objects.get(user=owner))) == D("1")
    assert D(_spent_cell(page, Membership.objects.get(user=developer))) == D("0")
    assert 'name="spend_cap"' in page
    # Members without caps.set see neither the caps nor the spending.
    for user in (developer, member):
        other = _client(user).get("/orgs/acme/members/").content.decode()
        assert 'name="spend_cap"' not in other and "member-spent" not in other


def test_a_cap_set_on_the_page_is_enforced_then_cleared(world):
    app, org, owner, biller, developer, member = world
    membership = Membership.objects.get(user=member)
    response = _client(biller).post(f"/orgs/acme/members/{membership.pk}/", {"spend_cap": "1.5"}, follow=True)
    membership.refresh_from_db()
    assert membership.spend_cap == D("1.5")
    assert 'value="1.50"' in response.content.decode()
    key = _key(member, org)
    admit(member, app, api_key=key)
    with pytest.raises(PaymentRequired) as refused:
        admit(member, app, api_key=key)
    assert refused.value.code == "member_cap_reached"
    # An empty cap clears it: the member spends again.
    _client(owner).post(f"/orgs/acme/members/{membership.pk}/", {"spend_cap": ""})
    membership.refresh_from_db()
    assert membership.spend_cap is None
    admit(member, app, api_key=key)


def test_bad_caps_and_roles_without_caps_set_change_nothing(world):
    app, org, owner, biller, developer, member = world
    membership = Membership.objects.get(user=member)
    Membership.objects.filter(pk=membership.pk).update(spend_cap=D("3"))
    for value in ("abc", "-1", "1.1234567"):
        page = _client(owner).post(f"/orgs/acme/members/{membership.pk}/", {"spend_cap": value}, follow=True)
        assert page.status_code == 200 and 'class="message message-error"' in page.content.decode(), value
        membership.refresh_from_db()
        assert membership.spend_cap == D("3"), value
    response = _client(developer).post(f"/orgs/acme/members/{membership.pk}/", {"spend_cap": "100"}, follow=True)
    assert "does not allow this" in response.content.decode()
    membership.refresh_from_db()
    assert membership.spend_cap == D("3")
    # Someone else's org: 404, as everywhere.
    assert _client(UserFactory()).post(f"/orgs/acme/members/{membership.pk}/", {"spend_cap": "9"}).status_code == 404
