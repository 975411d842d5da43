"""Site-wide categories, a category for every app already published, and the search index on PostgreSQL."""
from django.db import migrations

SITE_CATEGORIES = [
    ("announcements", "Announcements", "News from the ModelMarket team.", True),
    ("general", "General", "Anything about AI model apps.", False),
    ("help", "Help", "Questions about using or publishing apps.", False),
    ("show-and-tell", "Show & tell", "Share what you built with ModelMarket.", False),
]


def forwards(apps, schema_editor):
    ForumCategory = apps.get_model("community", "ForumCategory")
    App = apps.get_model("marketplace", "App")
    for position, (slug, name, description, mods_only) in enumerate(SITE_CATEGORIES):
        ForumCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position,
                                 "moderators_only": mods_only},
        )
    for app in App.objects.filter(status="published"):
        if not ForumCategory.objects.filter(app=app).exists():
            slug = f"app-{app.slug}"[:90]
            if not ForumCategory.objects.filter(slug=slug).exists():
                ForumCategory.objects.create(slug=slug, app=app, name=app.name[:100], position=1000,
                                             description=(app.tagline or "")[:300])
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS community_post_search_gin ON community_post USING gin (search_vector)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS community_post_search_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0001_initial"),
        ("marketplace", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
