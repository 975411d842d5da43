"""static/js/money.js writes every amount exactly as the `price` filter does: one money format, server or browser."""
import random
from decimal import Decimal
from pathlib import Path

import pytest

from config.templatetags.mm import CURRENCY_SYMBOLS, money_text

pytestmark = pytest.mark.browser

MONEY_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "money.js"


def _amounts() -> list[str]:
    """Edge cases (rounding half to even at 4 and 6 places, carries, separators, signs) and random API amounts."""
    fixed = ["0", "0.000000", "0.002100", "0.0021", "0.1", "0.999999", "0.9999995", "1", "1.000000", "9.999950",
             "9.999850", "1234.5", "1234.567850", "1234.567750", "1000000.000000", "12345678.9", "-0.5",
             "-0.000001", "-1234.56785", "0.0000005", "0.0000015", "+3.14159", "999.99995"]
    rng = random.Random(10)
    drawn = [str(Decimal(rng.randrange(0, 10 ** rng.randint(1, 12))).scaleb(-6)) for _ in range(300)]
    return fixed + drawn


@pytest.mark.parametrize("currency", ["usd", "eur", "chf"])
def test_the_browser_formats_money_as_the_price_filter(browser, settings, currency):
    settings.CURRENCY = currency
    amounts = _amounts()
    expected = [money_text(amount) for amount in amounts]
    browser.get("about:blank")
    browser.execute_script(MONEY_JS.read_text())
    shown = browser.execute_script(
        "const [amounts, symbol, code] = arguments; return amounts.map(a => ModelMarket.money(a, symbol, code));",
        amounts, CURRENCY_SYMBOLS.get(currency, ""), currency.upper())
    assert [(a, s) for a, s, e in zip(amounts, shown, expected, strict=True) if s != e] == []
    assert shown[2] == {"usd": "$0.0021", "eur": "€0.0021", "chf": "0.0021 CHF"}[currency]
