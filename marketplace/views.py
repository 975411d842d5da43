"""Store and console pages. Views parse input, call one selector or service, and render."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import PermissionDenied
from config.web_errors import WebError, form_add_error, message_error

from .forms import SORTS, AppForm, ReplyForm, ReviewForm, StoreFilterForm, version_form_class
from .model_cards import version_model_card_update
from .models import App, AppStatus, Category, Review, VersionStatus
from .selectors import (
    app_current_price,
    app_get_visible,
    app_list_published,
    app_reviews,
    apps_managed_by,
    apps_top_rated,
    apps_with_prices,
    categories_with_counts,
    console_apps,
    library_entries_for,
    review_of,
)
from .services import (
    app_acquire,
    app_acquire_blocker,
    app_create,
    app_submit,
    app_submit_requirements,
    app_update,
    review_create,
    review_reply,
    review_update,
    user_has_app,
)

PAGE_SIZE = 24
REVIEWS_SHOWN = 50


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "marketplace/home.html", {
        "featured": apps_with_prices(app_list_published().filter(featured=True)[:3]),
        "popular": apps_with_prices(app_list_published(ordering="-runs")[:6]),
        "newest": apps_with_prices(app_list_published(ordering="-created")[:6]),
        "top_rated": apps_with_prices(apps_top_rated(limit=6)),
        "categories": categories_with_counts(),
    })


def _listing(request: HttpRequest, *, title: str, category: Category | None = None) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    ordering = request.GET.get("ordering", "")
    if ordering not in dict(SORTS):
        ordering = ""
    tag = request.GET.get("tag", "").strip()[:50]
    filter_form = StoreFilterForm(request.GET or None)
    filters = filter_form.filters() if request.GET else {}
    apps = app_list_published(search=query, category=category.slug if category else "", ordering=ordering, tag=tag,
                              **filters)
    page = Paginator(apps, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = apps_with_prices(page.object_list)
    return render(request, "marketplace/list.html", {
        "page": page, "title": title, "query": query, "ordering": ordering, "category": category, "tag": tag,
        "sorts": SORTS, "categories": categories_with_counts(), "filter_form": filter_form,
        "filtered": bool(filters),
    })


def browse(request: HttpRequest) -> HttpResponse:
    return _listing(request, title=_("All apps"))


def search(request: HttpRequest) -> HttpResponse:
    return _listing(request, title=_("Search"))


def category(request: HttpRequest, slug: str) -> HttpResponse:
    return _listing(request, title="", category=get_object_or_404(Category, slug=slug))


def _visible_app(request: HttpRequest, slug: str) -> App:
    try:
        return app_get_visible(user=request.user, slug=slug)
    except App.DoesNotExist:
        raise Http404 from None


def _detail(request: HttpRequest, app: App, *, review_form: ReviewForm | None = None,
            reply_errors: dict[int, Any] | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    has_app = user_has_app(user=user, app=app)
    my_review = review_of(user=user, app=app)
    if review_form is None and has_app and app.owner_id != user.pk:
        initial = {"rating": my_review.rating, "text": my_review.text} if my_review else None
        review_form = ReviewForm(initial=initial)
    return render(request, "marketplace/app_detail.html", {
        "app": app,
        "price": app_current_price(app=app),
        "versions": list(app.versions.all()),
        "tags": list(app.tags.all()),
        "reviews": list(app_reviews(app=app)[:REVIEWS_SHOWN]),
        "has_app": has_app,
        "is_owner": user.is_authenticated and app.owner_id == user.pk,
        "my_review": my_review,
        "review_form": review_form,
        "reply_errors": reply_errors or {},
        # The blocker is asked on POST only (`app_get`): with Stripe it opens a checkout session.
        "needs_purchase": bool(app.purchase_price) and not has_app,
    }, status=status)


def app_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _detail(request, _visible_app(request, slug))


@require_POST
@login_required
def app_get(request: HttpRequest, slug: str) -> HttpResponse:
    app = _visible_app(request, slug)
    blocker = app_acquire_blocker(user=request.user, app=app)
    if blocker and not user_has_app(user=request.user, app=app):
        checkout = blocker.get("checkout_url") or blocker.get("url")
        if checkout:
            return redirect(checkout)
        messages.warning(request, blocker.get("message") or _("This app cannot be added yet."))
        return redirect(app.get_absolute_url())
    try:
        app_acquire(user=request.user, app=app)
    except WebError as error:
        message_error(request, error)
        return redirect(app.get_absolute_url())
    messages.success(request, _("%(name)s is in your library.") % {"name": app.name})
    return redirect(app.get_absolute_url() + "#try")


@require_POST
@login_required
def app_review(request: HttpRequest, slug: str) -> HttpResponse:
    """Create the user's review, or update it: one review per user and app."""
    app = _visible_app(request, slug)
    form = ReviewForm(request.POST)
    if form.is_valid():
        existing = review_of(user=request.user, app=app)
        try:
            if existing:
                review_update(review=existing, rating=form.cleaned_data["rating"], text=form.cleaned_data["text"])
            else:
                review_create(user=request.user, app=app, rating=form.cleaned_data["rating"],
                              text=form.cleaned_data["text"])
        except WebError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _("Thanks, your review is published."))
            return redirect(app.get_absolute_url() + "#reviews")
    return _detail(request, app, review_form=form, status=400)


@require_POST
@login_required
def review_reply_view(request: HttpRequest, slug: str, review_id: int) -> HttpResponse:
    app = _visible_app(request, slug)
    review = get_object_or_404(Review.objects.select_related("app", "user"), pk=review_id, app=app)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            review_reply(review=review, actor=request.user, text=form.cleaned_data["text"])
        except PermissionDenied:
            raise Http404 from None
        messages.success(request, _("Your reply is published."))
        return redirect(app.get_absolute_url() + f"#review-{review.pk}")
    return _detail(request, app, reply_errors={review.pk: form.errors.get("text")}, status=400)


@login_required
def library(request: HttpRequest) -> HttpResponse:
    entries = list(library_entries_for(user=request.user))
    apps_with_prices(entry.app for entry in entries)
    return render(request, "marketplace/library.html", {"entries": entries})


# --- Developer console ---------------------------------------------------------------------------------------------


def _developer_required(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_developer:
        messages.info(request, _("Accept the developer terms to publish apps."))
        return redirect("accounts:become_developer")
    return None


def _owned_app(request: HttpRequest, slug: str) -> App:
    """Apps the user manages (their own, their orgs' where they may publish): anyone else's answers 404."""
    return get_object_or_404(apps_managed_by(user=request.user), slug=slug)


@login_required
def console(request: HttpRequest) -> HttpResponse:
    if response := _developer_required(request):
        return response
    found = console_apps(user=request.user)
    return render(request, "marketplace/console.html", {
        "apps": found.own, "org_groups": found.org_groups, "any_apps": found.any, "counts": found.counts,
        "not_listed": found.not_listed})


@login_required
def console_app_new(request: HttpRequest) -> HttpResponse:
    if response := _developer_required(request):
        return response
    form = AppForm(request.POST, request.FILES) if request.method == "POST" else AppForm()
    if request.method == "POST" and form.is_valid():
        try:
            app = app_create(owner=request.user, icon=form.cleaned_data.get("icon"), **form.service_kwargs())
        except WebError as error:
            form_add_error(form, error, {"pricing": "pricing_model"})
        else:
            messages.success(request, _("Draft created. Add a version, then submit it for review."))
            return redirect("marketplace:console_app", slug=app.slug)
    return render(request, "marketplace/console_app_form.html", {"form": form, "app": None},
                  status=400 if form.errors else 200)


def _console_app_context(app: App, **extra: Any) -> dict[str, Any]:
    versions = list(app.versions.all())
    return {"app": app, "versions": versions, "submit_problem": app_submit_requirements(app),
            "has_ready_version": any(version.status == VersionStatus.READY for version in versions),
            "versions_pending": any(version.status in (VersionStatus.UPLOADED, VersionStatus.VALIDATING)
                                    for version in versions),
            "can_submit": app.status in (AppStatus.DRAFT, AppStatus.REJECTED), **extra}


@login_required
def console_app(request: HttpRequest, slug: str) -> HttpResponse:
    if response := _developer_required(request):
        return response
    app = _owned_app(request, slug)
    if request.method == "POST":
        form = AppForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.service_kwargs()
            if form.cleaned_data.get("icon"):
                data["icon"] = form.cleaned_data["icon"]
            try:
                app_update(app=app, data=data)
            except WebError as error:
                form_add_error(form, error, {"pricing": "pricing_model"})
            else:
                messages.success(request, _("Changes saved."))
                return redirect("marketplace:console_app", slug=app.slug)
    else:
        form = AppForm(initial=AppForm.initial_for(app))
    return render(request, "marketplace/console_app.html", _console_app_context(app, form=form),
                  status=400 if form.errors else 200)


@login_required
def console_version_new(request: HttpRequest, slug: str) -> HttpResponse:
    if response := _developer_required(request):
        return response
    app = _owned_app(request, slug)
    form_class = version_form_class()  # inference's form with the artifact upload, registered at startup
    form = form_class(request.POST, request.FILES) if request.method == "POST" else form_class()
    if request.method == "POST" and form.is_valid():
        try:
            version = form.save(app=app, actor=request.user)
            version_model_card_update(version=version, actor=request.user, **form.model_card_values())
        except WebError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _("Version %(version)s added.") % {"version": version.version})
            return redirect("marketplace:console_app", slug=app.slug)
    return render(request, "marketplace/console_version_form.html", {"app": app, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@login_required
def console_app_submit(request: HttpRequest, slug: str) -> HttpResponse:
    app = _owned_app(request, slug)
    try:
        app_submit(app=app, actor=request.user)
    except WebError as error:
        message_error(request, error)
    else:
        messages.success(request, _("Submitted for review. We will notify you when a moderator decides."))
    return redirect(reverse("marketplace:console_app", kwargs={"slug": app.slug}))
