# Model cards on versions (issue 14, part 4) and the answer-grading task. Numbered 0008: 0007 is taken by another branch.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0007_app_retention_days'),
    ]

    operations = [
        migrations.AddField(
            model_name='appversion',
            name='base_model',
            field=models.CharField(blank=True, max_length=200, verbose_name='base model'),
        ),
        migrations.AddField(
            model_name='appversion',
            name='evaluation_metrics',
            field=models.JSONField(blank=True, default=dict, verbose_name='evaluation metrics'),
        ),
        migrations.AddField(
            model_name='appversion',
            name='intended_use',
            field=models.TextField(blank=True, max_length=4000, verbose_name='intended use'),
        ),
        migrations.AddField(
            model_name='appversion',
            name='license',
            field=models.CharField(blank=True, max_length=100, verbose_name='licence'),
        ),
        migrations.AddField(
            model_name='appversion',
            name='limitations',
            field=models.TextField(blank=True, max_length=4000, verbose_name='limitations'),
        ),
        migrations.AddField(
            model_name='appversion',
            name='training_data',
            field=models.TextField(blank=True, max_length=4000, verbose_name='training data'),
        ),
        migrations.AlterField(
            model_name='appversion',
            name='task',
            field=models.CharField(choices=[('text-classification', 'Text classification'), ('feature-extraction', 'Feature extraction'), ('text-generation', 'Text generation'), ('image-classification', 'Image classification'), ('answer-grading', 'Answer grading')], default='text-classification', max_length=40),
        ),
    ]
