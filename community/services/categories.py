"""Forum categories: the site-wide ones, and one per published app."""
from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext_noop

from marketplace.models import App

from ..models import CategoryWatch, ForumCategory, WatchLevel

# Site-wide categories; created by a data migration and re-ensured by seed_demo. Stored in English and
# translated at render time (`trans_name`), so they are marked for extraction only.
SITE_CATEGORIES = [
    ("announcements", gettext_noop("Announcements"), gettext_noop("News from the ModelMarket team."), True),
    ("general", gettext_noop("General"), gettext_noop("Anything about AI model apps."), False),
    ("help", gettext_noop("Help"), gettext_noop("Questions about using or publishing apps."), False),
    ("show-and-tell", gettext_noop("Show & tell"), gettext_noop("Share what you built with ModelMarket."), False),
]


@transaction.atomic
def site_categories_ensure() -> list[ForumCategory]:
    out = []
    for position, (slug, name, description, mods_only) in enumerate(SITE_CATEGORIES):
        category, _created = ForumCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position,
                                 "moderators_only": mods_only},
        )
        out.append(category)
    return out


@transaction.atomic
def category_for_app_ensure(*, app: App) -> ForumCategory:
    """One category per app, made when it is first published; the developer watches it from the start."""
    existing = ForumCategory.objects.filter(app=app).first()
    if existing:
        if existing.name != app.name[:100]:
            existing.name = app.name[:100]
            existing.save(update_fields=["name"])
        return existing
    base = f"app-{slugify(app.slug)}"[:90]
    slug, n = base, 2
    while ForumCategory.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    category = ForumCategory.objects.create(
        slug=slug, app=app, name=app.name[:100], position=1000,
        description=(app.tagline or "")[:300],
    )
    CategoryWatch.objects.get_or_create(user=app.owner, category=category, defaults={"level": WatchLevel.WATCHING})
    return category


def on_app_published(app: App) -> None:
    """Marketplace calls this when it publishes an app (registered in CommunityConfig.ready)."""
    category_for_app_ensure(app=app)
