"""Styles and scripts are static files: every `{% static %}` a template names exists, pages link them, and the
live price script shows the server's own formatting (no second money formatter in JavaScript)."""
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.factories import PaidAppFactory
from tests.test_architecture import template_files

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STATIC_REFERENCE = re.compile(r"""\{%\s*static\s+["']([^"']+)["']""")


def test_every_static_file_a_template_names_exists():
    names = {name for path in template_files() for name in STATIC_REFERENCE.findall(path.read_text())}
    assert {"css/app.css", "css/bars.css", "css/billing.css", "css/inference.css", "css/admin.css",
            "js/app.js", "js/billing-price.js", "js/money.js"} <= names
    missing = sorted(name for name in names if not finders.find(name))
    assert not missing, missing


def test_bar_widths_cover_every_whole_percent():
    css = (ROOT / "static" / "css" / "bars.css").read_text()
    assert [int(n) for n in re.findall(r"\.pct-(\d+) \{ width: (?:\d+)%; \}", css)] == list(range(101))


def _text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_live_price_answer_carries_the_texts_the_page_renders(client, language):
    app = PaidAppFactory(base_price=Decimal("1234.5"), k=Decimal("0.000100"), max_price=Decimal("5000"))
    client.cookies["django_language"] = language
    page = client.get(app.get_absolute_url()).content.decode()
    assert "js/billing-price.js" in page and "css/billing.css" in page and "css/inference.css" in page
    answer = client.get(f"/billing/apps/{app.slug}/price/").json()
    assert answer["price"] == "1234.500000"
    assert answer["price_display"] == _text_of(page, "live-price") == "$1,234.50"
    assert answer["demand_display"] == _text_of(page, "live-demand")
    assert "0" in answer["demand_display"] and str(app.window_seconds) in answer["demand_display"]
    script = (ROOT / "static" / "js" / "billing-price.js").read_text()
    assert "price_display" in script and "toLocaleString" not in script  # the server formats, the script shows


def test_small_prices_keep_their_digits_in_the_answer(client):
    app = PaidAppFactory(base_price=Decimal("0.002100"), k=Decimal("0.000100"), max_price=Decimal("0.01"))
    assert client.get(f"/billing/apps/{app.slug}/price/").json()["price_display"] == "$0.0021"
    assert settings.CURRENCY.lower() == "usd"
