"""factory_boy factories shared by every test package."""
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from accounts.services import user_make_moderator
from marketplace.models import App, AppStatus, AppVersion, Category, LibraryEntry, PricingModel, VersionStatus

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))


class DeveloperFactory(UserFactory):
    is_developer = True


class ModeratorFactory(UserFactory):
    @factory.post_generation
    def moderator(obj, create, extracted, **kwargs):
        if create:
            user_make_moderator(user=obj)


def category(slug: str = "games") -> Category:
    return Category.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    owner = factory.SubFactory(DeveloperFactory)
    name = factory.Sequence(lambda n: f"Test App {n}")
    slug = factory.Sequence(lambda n: f"test-app-{n}")
    tagline = "Does a useful thing"
    description = "A **great** app."
    category = factory.LazyFunction(category)
    status = AppStatus.PUBLISHED
    pricing_model = PricingModel.FREE
    base_price = Decimal("0")
    max_price = Decimal("0")

    @factory.post_generation
    def ready(obj, create, extracted, **kwargs):
        """`AppFactory(ready=True)`: with a validated version, so the store lists it (metadata only)."""
        if create and extracted:
            AppVersion.objects.create(app=obj, version="0.9.0", status=VersionStatus.READY,
                                      task=kwargs.get("task", "text-classification"))


class PaidAppFactory(AppFactory):
    pricing_model = PricingModel.PER_CALL
    base_price = Decimal("0.010000")
    k = Decimal("0.001000")
    max_price = Decimal("0.050000")


class AppVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppVersion

    app = factory.SubFactory(AppFactory)
    version = factory.Sequence(lambda n: f"1.0.{n}")
    changelog = "First release"


class LibraryEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LibraryEntry

    user = factory.SubFactory(UserFactory)
    app = factory.SubFactory(AppFactory)
