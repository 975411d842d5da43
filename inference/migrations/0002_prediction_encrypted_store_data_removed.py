# Data protection: inputs and outputs become Fernet tokens in text columns (0003 encrypts the existing rows),
# plus the `store: false` and `data_removed` flags.

import config.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inference', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='prediction',
            name='data_removed',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='prediction',
            name='store',
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name='prediction',
            name='input',
            field=config.fields.EncryptedJSONField(blank=True, default=dict, null=True),
        ),
        migrations.AlterField(
            model_name='prediction',
            name='output',
            field=config.fields.EncryptedJSONField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='prediction',
            index=models.Index(condition=models.Q(('data_removed', False)), fields=['completed_at'], name='prediction_data_kept'),
        ),
    ]
