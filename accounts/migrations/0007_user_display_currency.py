# The display currency a user picks (issue 14, part 5). Numbered 0007: 0006 is taken by another branch.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_user_deleted_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='display_currency',
            field=models.CharField(blank=True, choices=[('usd', 'US dollar (USD)'), ('cny', 'Chinese yuan (CNY)'), ('eur', 'Euro (EUR)')], max_length=3, verbose_name='display currency'),
        ),
    ]
