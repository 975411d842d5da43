from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import docs, health, lifecycle, observability, site_views

api_v1 = [
    path("", include("privacy.api_urls")),  # first: it answers DELETE on `me/` (GET as accounts does)
    path("", include("accounts.api_urls")),
    path("", include("marketplace.api_urls")),
    path("", include("inference.api_urls")),
    path("", include("training.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("community.api_urls")),
    path("", include("analytics.api_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", site_views.favicon, name="favicon"),
    path("livez", lifecycle.livez, name="livez"),
    path("readyz", lifecycle.readyz, name="readyz"),
    path("metrics", observability.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", xframe_options_sameorigin(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("docs/", docs.docs, name="docs"),
    re_path(r"^docs/(?P<path>.*)$", docs.docs, name="docs-file"),
    path("api/v1/", include(api_v1)),
    path("openai/v1/", include("inference.openai_urls")),
    path("", include("accounts.urls")),
    path("", include("analytics.urls")),
    path("", include("privacy.urls")),
    path("", include("billing.urls")),
    path("", include("inference.urls")),
    path("", include("community.urls")),
    path("", include("training.urls")),
    path("", include("marketplace.urls")),
    # Public media is app icons and avatars only; artifacts and datasets live in private storage.
    re_path(r"^media/(?P<path>icons/.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
