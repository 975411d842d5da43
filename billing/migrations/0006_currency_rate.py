"""Display-currency rates (issue 14, part 5), with starting rates moderators update in the admin.

Numbered 0006: 0005 is taken by another branch. The starting rates are only for a US-dollar settlement currency
(the default); elsewhere moderators enter them.
"""

import django.core.validators
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

STARTING_RATES = {"cny": Decimal("7.10"), "eur": Decimal("0.92")}  # per US dollar, late 2026; kept in the admin


def seed_rates(apps, schema_editor):
    if settings.CURRENCY.lower() != "usd":
        return
    CurrencyRate = apps.get_model("billing", "CurrencyRate")
    for code, rate in STARTING_RATES.items():
        CurrencyRate.objects.get_or_create(code=code, defaults={"per_settlement_unit": rate})


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0005_stripe_event_status'),
    ]

    operations = [
        migrations.CreateModel(
            name='CurrencyRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(choices=[('usd', 'US dollar (USD)'), ('cny', 'Chinese yuan (CNY)'), ('eur', 'Euro (EUR)')], max_length=3, unique=True, verbose_name='currency')),
                ('per_settlement_unit', models.DecimalField(decimal_places=8, help_text='How much one unit of the settlement currency is worth in this currency, e.g. 7.10 yuan.', max_digits=18, validators=[django.core.validators.MinValueValidator(Decimal('1E-8'))], verbose_name='units per settlement unit')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'currency rate',
                'verbose_name_plural': 'currency rates',
                'ordering': ['code'],
            },
        ),
        migrations.RunPython(seed_rates, migrations.RunPython.noop),
    ]
