from django.db import migrations

CATEGORIES = [
    ("games", "Games", "NPCs, level generation and game analytics."),
    ("finance", "Finance", "Sentiment, risk and document understanding for money."),
    ("healthcare", "Healthcare", "Triage, notes and medical text."),
    ("education", "Education", "Tutoring, grading and language learning."),
    ("customer-service", "Customer service", "FAQ search, routing and reply suggestions."),
    ("recommendation", "Recommendation", "Similarity, ranking and personalisation."),
    ("other", "Other", "Everything else."),
]


def add_categories(apps, schema_editor):
    Category = apps.get_model("marketplace", "Category")
    for position, (slug, name, description) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]
    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
