"""Display currency: USD, CNY or EUR beside settlement prices, from the moderators' rate table, by language or pick."""
from decimal import Decimal

import pytest
from django.template import Context, Template
from rest_framework.test import APIClient

from accounts.preferences import display_currency_for, user_set_display_currency
from billing.currency import DisplayMoney, currency_rate_set, currency_rates, money_convert
from billing.models import CurrencyRate
from config.errors import InvalidInput
from marketplace.models import AppVersion, VersionStatus
from tests.factories import ModeratorFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rates():
    currency_rate_set(code="cny", per_settlement_unit=Decimal("7.10"))
    currency_rate_set(code="eur", per_settlement_unit=Decimal("0.92"))


def test_the_currency_follows_the_language_until_the_user_picks_one():
    assert display_currency_for(user=None, language="zh-hans") == "cny"
    assert display_currency_for(user=None, language="en") == "usd"
    assert display_currency_for(user=None, language=None) == "usd"
    person = UserFactory()
    assert display_currency_for(user=person, language="zh-hans") == "cny"
    user_set_display_currency(user=person, currency="eur")
    assert display_currency_for(user=person, language="zh-hans") == "eur"
    user_set_display_currency(user=person, currency="")  # back to "by language"
    assert display_currency_for(user=person, language="en") == "usd"
    with pytest.raises(InvalidInput):
        user_set_display_currency(user=person, currency="gbp")


def test_conversion_uses_the_rate_table_and_is_marked_approximate():
    assert currency_rates() == {"cny": Decimal("7.10"), "eur": Decimal("0.92"), "usd": Decimal("1")}
    assert money_convert(amount=Decimal("2.50"), currency="cny", rates=currency_rates()) == Decimal("17.75")
    assert DisplayMoney(currency="cny").approximate(Decimal("1.00")) == "≈ ¥7.10"
    assert DisplayMoney(currency="cny").approximate("0.002000") == "≈ ¥0.0142"  # a per-call price stays readable
    assert DisplayMoney(currency="eur").approximate(Decimal("1234.5")) == "≈ €1,135.74"
    assert DisplayMoney(currency="usd").approximate(Decimal("1")) == ""  # the settlement currency: nothing to add
    CurrencyRate.objects.filter(code="eur").delete()
    assert DisplayMoney(currency="eur").approximate(Decimal("1")) == ""  # no rate: only the settlement amount
    with pytest.raises(InvalidInput):
        currency_rate_set(code="cny", per_settlement_unit=Decimal("0"))


def test_the_template_tag_reads_the_visitors_currency_once_per_page(django_assert_num_queries):
    template = Template("{% load currency_tags %}{% display_money a %}|{% display_money b %}|{{ a|approx_in:'eur' }}")
    display = DisplayMoney(currency="cny")
    with django_assert_num_queries(2):  # one for the tag's two amounts, one for the filter's own currency
        html = template.render(Context({"DISPLAY_MONEY": display, "a": Decimal("1"), "b": Decimal("0.01")}))
    assert html == ('<span class="approx" title="Approximate, at the platform&#x27;s exchange rate; you are charged in '
                    'USD.">≈ ¥7.10</span>|<span class="approx" title="Approximate, at the platform&#x27;s exchange '
                    'rate; you are charged in USD.">≈ ¥0.071</span>|≈ €0.92')


def _paid_app():
    app = PaidAppFactory(name="Priced", base_price=Decimal("0.010000"), k=Decimal("0"), max_price=Decimal("0.010000"))
    AppVersion.objects.create(app=app, version="1.0.0", status=VersionStatus.READY)
    return app


def test_store_cards_and_the_price_box_show_the_approximate_price_beside_the_settlement_one(client_for):
    app = _paid_app()
    english = client_for().get("/apps/").content.decode()
    assert "$0.01" in english and "≈" not in english
    chinese = client_for(language="zh-hans").get("/apps/").content.decode()
    card = chinese[chinese.index(f'data-app="{app.slug}"'):]
    card = card[:card.index("</a>")]
    assert "$0.01" in card and "≈ ¥0.071" in card  # the exact settlement price stays, the yuan is beside it
    page = client_for(language="zh-hans").get(app.get_absolute_url()).content.decode()
    box = page[page.index('id="price-box"'):]
    assert 'id="live-price"' in box and "$0.01" in box and "≈ ¥0.071" in box
    person = UserFactory(display_currency="eur")
    page = client_for(person, language="zh-hans").get(app.get_absolute_url()).content.decode()
    assert "≈ €0.0092" in page and "≈ ¥" not in page  # the user's pick beats the language


def test_the_wallet_and_the_api_keep_the_settlement_currency(client_for):
    app = _paid_app()
    person = UserFactory(display_currency="cny")
    from billing.services import credit_grant

    credit_grant(user=person, amount=Decimal("5.00"), memo="welcome", granted_by=None)
    wallet = client_for(person).get("/billing/wallet/").content.decode()
    assert "$5.00" in wallet and "≈" not in wallet  # where money is charged, only exact settlement amounts
    api = APIClient()
    api.force_authenticate(person)
    body = api.get(f"/api/v1/apps/{app.slug}/").json()
    assert body["price"] == "0.010000" and "≈" not in str(body)
    assert api.get("/api/v1/billing/balance/").json()["currency"] == "usd"


def test_the_settings_page_saves_the_pick(client_for):
    person = UserFactory()
    client = client_for(person, language="zh-hans")
    page = client.get("/settings/").content.decode()
    assert 'id="display-currency"' in page and 'name="display_currency"' in page
    assert "价格显示为" in page and "跟随语言（当前为 CNY）" in page  # in Chinese, defaulting to yuan
    assert client.post("/settings/currency/", {"display_currency": "eur"}).status_code == 302
    person.refresh_from_db()
    assert person.display_currency == "eur"
    client.post("/settings/currency/", {"display_currency": "gbp"})
    person.refresh_from_db()
    assert person.display_currency == "eur"
    assert client_for().post("/settings/currency/", {"display_currency": "cny"}).status_code == 302  # to log in


def test_moderators_keep_the_rate_table_in_the_admin(client_for):
    moderator = ModeratorFactory()
    client = client_for(moderator)
    listing = client.get("/admin/billing/currencyrate/")
    assert listing.status_code == 200 and "¥7.10" in listing.content.decode()
    rate = CurrencyRate.objects.get(code="cny")
    response = client.post(f"/admin/billing/currencyrate/{rate.pk}/change/",
                           {"code": "cny", "per_settlement_unit": "7.25"})
    assert response.status_code == 302
    assert CurrencyRate.objects.get(code="cny").per_settlement_unit == Decimal("7.25")
    assert DisplayMoney(currency="cny").approximate(Decimal("1")) == "≈ ¥7.25"
    staff = UserFactory(is_staff=True)
    assert client_for(staff).get("/admin/billing/currencyrate/").status_code == 403
