"""Store pages. Views parse input, call one selector or service, and render."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .models import App, Category, LibraryEntry
from .selectors import app_current_price, app_get_visible, app_list_published, apps_owned_by, categories_all


def home(request):
    apps = app_list_published()
    return render(request, "marketplace/home.html", {
        "featured": apps.filter(featured=True)[:4],
        "popular": app_list_published(ordering="-runs")[:8],
        "newest": app_list_published(ordering="-created")[:8],
        "top_rated": app_list_published(ordering="-rating")[:8],
        "categories": categories_all(),
    })


def _listing(request, *, title: str, category: Category | None = None):
    query = request.GET.get("q", "")
    ordering = request.GET.get("ordering", "")
    apps = app_list_published(search=query, category=category.slug if category else "", ordering=ordering)
    page = Paginator(apps, 24).get_page(request.GET.get("page"))
    return render(request, "marketplace/list.html", {
        "page": page, "title": title, "query": query, "ordering": ordering, "category": category,
        "categories": categories_all(),
    })


def browse(request):
    return _listing(request, title="All apps")


def search(request):
    return _listing(request, title="Search")


def category(request, slug: str):
    return _listing(request, title="", category=get_object_or_404(Category, slug=slug))


def app_detail(request, slug: str):
    try:
        app = app_get_visible(user=request.user, slug=slug)
    except App.DoesNotExist:
        raise Http404 from None
    return render(request, "marketplace/app_detail.html", {"app": app, "price": app_current_price(app=app)})


@login_required
def library(request):
    entries = LibraryEntry.objects.filter(user=request.user).select_related("app", "app__category", "app__owner")
    return render(request, "marketplace/library.html", {"entries": entries})


@login_required
def console(request):
    return render(request, "marketplace/console.html", {"apps": apps_owned_by(user=request.user)})
