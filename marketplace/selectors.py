"""Reads for the marketplace: listings, search and the current price."""
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import (
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast

from accounts import org_permissions
from accounts.models import Organisation, User

from .models import App, AppStatus, AppVersion, Category, LibraryEntry, PricingModel, Review, VersionStatus
from .pricing_port import price_source

ORDERINGS = {
    "-runs": ["-runs_count", "-created_at"],
    "-rating": ["-rated_enough", "-rating_value", "-reviews_count", "-created_at"],
    "-created": ["-created_at"],
    "price": ["list_price", "-runs_count"],
}


def _with_listing_columns(queryset: QuerySet[App]) -> QuerySet[App]:
    # Ordering only: the exact rating shown to people is `App.rating`, from integer counters.
    rating = Case(
        When(reviews_count=0, then=Value(0.0)),
        default=ExpressionWrapper(Cast("rating_sum", FloatField()) / F("reviews_count"), output_field=FloatField()),
        output_field=FloatField(),
    )
    list_price = Case(When(pricing_model=PricingModel.FREE, then=Value(Decimal("0"))), default=F("base_price"),
                      output_field=DecimalField(max_digits=18, decimal_places=6))
    return (
        queryset.select_related("owner", "category")
        .prefetch_related("tags", "versions")
        .annotate(rating_value=rating, list_price=list_price)
    )


def _fuzzy_app_ids(*, queryset: QuerySet[App], query: str) -> list[int]:
    """Typo tolerance without pg_trgm (SQLite): each query word close to a word of the name, tagline or tags."""
    import difflib
    import re

    words = [word for word in re.findall(r"\w+", query.lower()) if len(word) >= 3]
    if not words:
        return []
    ids = []
    for app_id, name, tagline, tags in (queryset.order_by().values_list("pk", "name", "tagline", "tags__name")):
        vocabulary = set(re.findall(r"\w+", f"{name} {tagline} {tags or ''}".lower()))
        if all(difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.75) for word in words):
            ids.append(app_id)
    return ids


def app_search(*, queryset: QuerySet[App], query: str) -> QuerySet[App]:
    """PostgreSQL full-text search with ranking plus trigram word similarity for typos ("sentimnt").

    On SQLite: substring match, with a difflib word match as the typo fallback.
    """
    query = (query or "").strip()
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import (
            SearchQuery,
            SearchRank,
            SearchVector,
            TrigramWordSimilarity,
        )
        from django.db.models.functions import Greatest

        vector = (
            SearchVector("name", weight="A", config="simple")
            + SearchVector("tagline", weight="B", config="simple")
            + SearchVector("description", weight="C", config="simple")
        )
        search_query = SearchQuery(query, search_type="websearch", config="simple")
        prefix = Q(name__icontains=query) | Q(tagline__icontains=query)
        threshold = settings.SEARCH_TRIGRAM_THRESHOLD
        similarity = Greatest(TrigramWordSimilarity(query, "name"), TrigramWordSimilarity(query, "tagline"))
        return (
            queryset.annotate(search_rank=SearchRank(vector, search_query), similarity=similarity)
            .filter(Q(search_rank__gt=0) | prefix | Q(similarity__gte=threshold))
            .order_by("-search_rank", "-similarity", "-runs_count")
        )
    terms = query.split()
    condition = Q()
    for term in terms:
        condition &= Q(name__icontains=term) | Q(tagline__icontains=term) | Q(description__icontains=term)
    return queryset.filter(condition | Q(pk__in=_fuzzy_app_ids(queryset=queryset, query=query)))


def app_list_published(
    *, search: str = "", category: str = "", ordering: str = "", tag: str = "", pricing: str = "",
    price_min: Decimal | None = None, price_max: Decimal | None = None, task: str = "",
) -> QuerySet[App]:
    """What the store lists: published apps that can run (a ready version), filtered and ordered.

    `pricing` is "free" or "paid"; the price range applies to the listed (base) price per call;
    ordering by rating ("Top rated") keeps only apps with TOP_RATED_MIN_REVIEWS ratings or more.
    """
    queryset = _with_listing_columns(App.objects.published().runnable())
    if category:
        queryset = queryset.filter(category__slug=category)
    if tag:
        queryset = queryset.filter(tags__slug=tag)
    if pricing == "free":
        queryset = queryset.filter(pricing_model=PricingModel.FREE)
    elif pricing == "paid":
        queryset = queryset.exclude(pricing_model=PricingModel.FREE)
    # `list_price` is annotated by _with_listing_columns, which the type checker cannot see through.
    if price_min is not None:
        queryset = queryset.filter(list_price__gte=price_min)  # type: ignore[misc]
    if price_max is not None:
        queryset = queryset.filter(list_price__lte=price_max)  # type: ignore[misc]
    if task:
        ready = AppVersion.objects.filter(app=OuterRef("pk"), status=VersionStatus.READY, task=task)
        queryset = queryset.filter(Exists(ready))
    if ordering == "-rating":
        # Apps with too few ratings sort after those with enough, whatever their average.
        enough = settings.TOP_RATED_MIN_REVIEWS
        queryset = queryset.annotate(rated_enough=Case(When(reviews_count__gte=enough, then=Value(1)),
                                                       default=Value(0)))
    if search:
        queryset = app_search(queryset=queryset, query=search)
        if ordering in ORDERINGS:
            queryset = queryset.order_by(*ORDERINGS[ordering])
        return queryset
    return queryset.order_by(*ORDERINGS.get(ordering, ORDERINGS["-runs"]))


def apps_top_rated(*, limit: int = 6) -> list[App]:
    """Home page "Top rated": only apps with at least TOP_RATED_MIN_REVIEWS ratings."""
    enough = settings.TOP_RATED_MIN_REVIEWS
    return list(app_list_published(ordering="-rating").filter(reviews_count__gte=enough)[:limit])


def app_get_visible(*, user: User | AnonymousUser, slug: str) -> App:
    """The app if `user` may see it; others' drafts raise DoesNotExist, answered as 404."""
    return _with_listing_columns(App.objects.visible_to(user)).get(slug=slug)


def apps_owned_by(*, user: User) -> QuerySet[App]:
    return _with_listing_columns(App.objects.owned_by(user)).order_by("-updated_at")


def apps_managed_by(*, user: User) -> QuerySet[App]:
    """The apps `user` may manage: their own and their orgs' where their role may publish (`App.is_managed_by`)."""
    return _with_listing_columns(App.objects.managed_by(user)).order_by("-updated_at")


@dataclass
class ConsoleApps:
    """The developer console's apps: the user's own, then one group per org where the user may publish."""

    own: list[App]
    org_groups: list[tuple[Organisation, list[App]]]
    counts: dict[str, int]
    not_listed: list[App]

    @property
    def any(self) -> bool:
        return bool(self.own) or any(apps for _org, apps in self.org_groups)


def console_apps(*, user: User) -> ConsoleApps:
    """The apps of the developer console, each with `has_ready_version`.

    An org's app is listed under its org when the user may publish there (whoever created it); the user's own
    apps are the rest of those they own (an org app they created stays theirs if their role no longer publishes).
    """
    orgs = list(org_permissions.orgs_where(user, org_permissions.APPS_PUBLISH).order_by("name", "pk"))
    apps = list(apps_managed_by(user=user).select_related("org"))
    ready = set(App.objects.filter(pk__in=[app.pk for app in apps]).runnable().values_list("pk", flat=True))
    for app in apps:
        app.has_ready_version = app.pk in ready  # type: ignore[attr-defined]
    org_ids = {org.pk for org in orgs}
    groups = [(org, [app for app in apps if app.org_id == org.pk]) for org in orgs]
    own = [app for app in apps if app.org_id not in org_ids]
    return ConsoleApps(
        own=own, org_groups=groups,
        counts={status: sum(1 for app in apps if app.status == status) for status in AppStatus.values},
        not_listed=[app for app in apps if app.status == AppStatus.PUBLISHED and not app.has_ready_version])  # type: ignore[attr-defined]


def app_recent_calls(*, app: App) -> int:
    """Calls in the trailing pricing window (n), as billing counts them (see pricing_port)."""
    return price_source().app_demand(app=app)


def app_recent_calls_many(*, apps: list[App]) -> dict[int, int]:
    """`app_recent_calls` for a whole page of apps in one grouped query, so a listing's query count stays
    constant (the API listing test asserts the same bound for 3 and 300 apps)."""
    return price_source().apps_demand(apps=apps)


def app_prices(*, apps: list[App]) -> dict[int, Decimal]:
    """The current per-call price of each app in `apps`, keyed by id."""
    return price_source().app_prices(apps=apps)


def apps_with_prices(apps: Iterable[App]) -> list[App]:
    """The apps as a list, each with `current_price` set for its card, in a constant number of queries."""
    listed = list(apps)
    prices = app_prices(apps=listed)
    for app in listed:
        app.current_price = prices.get(app.pk)  # type: ignore[attr-defined]
    return listed


def app_latest_version(*, app: App) -> AppVersion | None:
    """The newest ready version, else the newest of any status. Uses the listing's prefetch when present."""
    versions = list(app.versions.all())  # newest first (model ordering)
    return next((v for v in versions if v.status == VersionStatus.READY), versions[0] if versions else None)


def app_reviews(*, app: App) -> QuerySet[Review]:
    return Review.objects.filter(app=app).select_related("user").order_by("-created_at", "-pk")


def review_of(*, user: User | AnonymousUser, app: App) -> Review | None:
    if not user.is_authenticated:
        return None
    return Review.objects.filter(app=app, user=user).first()


def app_current_price(*, app: App, recent_calls: int | None = None) -> Decimal:
    """`min(max_price, base_price + k * n)`; free apps cost nothing per call. Billing computes it (pricing_port)."""
    return price_source().app_price(app=app, demand=recent_calls)


def categories_all() -> QuerySet[Category]:
    return Category.objects.all()


def currency() -> str:
    return settings.CURRENCY


# --- Store pages (web) -------------------------------------------------------------------------------------------


def categories_with_counts() -> QuerySet[Category]:
    """Categories with how many published apps each holds, in one query for the home tiles and sidebars."""
    from django.db.models import Count

    listed = App.objects.published().runnable().values("pk")  # the count matches what the listing shows
    return Category.objects.annotate(
        published_count=Count("apps", filter=Q(apps__pk__in=listed))
    ).order_by("position", "name")


def apps_published_by(*, user: User) -> QuerySet[App]:
    """A developer's public apps, for their profile page."""
    return _with_listing_columns(App.objects.published().filter(owner=user)).order_by("-runs_count", "-created_at")


def library_entries_for(*, user: User) -> QuerySet[LibraryEntry]:
    return (
        LibraryEntry.objects.filter(user=user)
        .select_related("app", "app__category", "app__owner")
        .prefetch_related("app__tags")
        .order_by("-acquired_at")
    )


def apps_runnable_by(*, user: User | AnonymousUser) -> QuerySet[App]:
    """Apps the user may run now: published apps in their library, and their own apps, with a ready version."""
    if not user.is_authenticated:
        return App.objects.none()
    in_library = Q(status=AppStatus.PUBLISHED, library_entries__user=user)
    return (App.objects.filter(in_library | Q(owner=user)).filter(versions__status=VersionStatus.READY)
            .select_related("owner").distinct().order_by("slug"))


def profile_context(person: User) -> dict[str, Any]:
    """What a public profile (accounts:profile) shows of the marketplace: the person's published apps, priced."""
    return {"apps": apps_with_prices(apps_published_by(user=person))}
