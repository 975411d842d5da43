"""Forum pages: thin views over selectors (reads) and services (writes)."""
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import InvalidInput
from config.web_errors import WebError, errors_as_messages, form_add_error, message_error
from marketplace.models import App

from . import permissions as perms
from . import selectors, services
from .forms import EditForm, FlagForm, ReplyForm, ThreadForm, WatchForm
from .models import ForumCategory, Post, Thread, ThreadKind, WatchLevel


def _visit(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        services.forum_visit_record(user=request.user)


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.headers.get("referer") or fallback
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = fallback
    return HttpResponseRedirect(target)


def _page(request: HttpRequest, queryset: Any, per_page: int) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def index(request: HttpRequest) -> HttpResponse:
    _visit(request)
    categories = list(selectors.categories_visible(user=request.user))
    return render(request, "community/index.html", {
        "site_categories": [c for c in categories if not c.app_id],
        "app_categories": [c for c in categories if c.app_id],
        "latest": selectors.threads_latest(user=request.user, limit=15),
    })


def category(request: HttpRequest, slug: str) -> HttpResponse:
    _visit(request)
    category = selectors.category_get(user=request.user, slug=slug)
    threads = selectors.threads_for_category(user=request.user, category=category)
    kind = request.GET.get("kind")
    if kind in ThreadKind.values:
        threads = threads.filter(kind=kind)
    if request.GET.get("solved") == "0":
        threads = threads.filter(kind=ThreadKind.QUESTION, accepted_post__isnull=True)
    level = selectors.category_watch_level(user=request.user, category=category)
    return render(request, "community/category.html", {
        "category": category,
        "page": _page(request, threads, settings.COMMUNITY_THREADS_PER_PAGE),
        "can_start": perms.can_start_thread(request.user, category),
        "watch_form": WatchForm(initial={"level": level}),
        "watch_level": level,
        "kind": kind,
    })


def thread(request: HttpRequest, pk: int, slug: str = "") -> HttpResponse:
    _visit(request)
    thread = selectors.thread_get(user=request.user, pk=pk)
    if slug != thread.slug:
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(thread.get_absolute_url() + query)
    posts = selectors.posts_for_thread(user=request.user, thread=thread)
    per_page = settings.COMMUNITY_POSTS_PER_PAGE
    page_number = request.GET.get("page")
    if request.GET.get("post", "").isdigit():
        before = posts.filter(number__lt=int(request.GET["post"])).count()
        page_number = before // per_page + 1
    page = Paginator(posts, per_page).get_page(page_number)
    page_posts = list(page.object_list)
    accepted = None
    if thread.accepted_post_id:
        accepted = selectors.posts_for_thread(user=request.user, thread=thread).filter(
            pk=thread.accepted_post_id).first()
    everyone = page_posts + ([accepted] if accepted else [])
    badges = selectors.badges_for_posts(posts=everyone, thread=thread)
    liked = selectors.liked_post_ids(user=request.user, posts=everyone)
    level = WatchLevel.NORMAL
    last_read = 0
    if request.user.is_authenticated:
        level = selectors.effective_watch_level(user_id=request.user.pk, thread=thread)
        last_read = max(getattr(thread, "last_read", 0), 0)
        if page_posts:
            services.thread_mark_read(user=request.user, thread=thread, up_to=page_posts[-1].number)
    for post in everyone:
        post.badges = badges.get(post.pk, [])
        post.liked = post.pk in liked
        post.is_unread = request.user.is_authenticated and post.number > last_read
    return render(request, "community/thread.html", {
        "thread": thread,
        "category": thread.category,
        "page": page,
        "posts": page_posts,
        "accepted": accepted,
        "reply_form": ReplyForm(),
        "flag_form": FlagForm(),
        "watch_form": WatchForm(initial={"level": level}),
        "watch_level": level,
        "can_reply": perms.can_reply(request.user, thread),
        "draft": request.session.pop("community_draft", "") if request.user.is_authenticated else "",
        "is_moderator": perms.is_moderator(request.user),
    })


@login_required
def thread_new(request: HttpRequest) -> HttpResponse:
    _visit(request)
    category, app = None, None
    if request.GET.get("app"):
        app = App.objects.visible_to(request.user).published().filter(slug=request.GET["app"]).first()
        if app is None:
            raise Http404
        category = selectors.category_for_app(app=app)
    elif request.GET.get("category"):
        category = selectors.category_get(user=request.user, slug=request.GET["category"])
    choices = [c for c in selectors.categories_visible(user=request.user) if perms.can_start_thread(request.user, c)]
    form = ThreadForm(request.POST or None)
    if request.method == "POST":
        chosen = request.POST.get("category", "")
        if app is not None and category is None and chosen == f"app:{app.slug}":
            category = services.category_for_app_ensure(app=app)
        elif chosen:
            category = selectors.category_find(user=request.user, ref=chosen)
        if category is None:
            form.add_error(None, _("Choose a category."))
        elif form.is_valid():
            try:
                thread = services.thread_create(
                    author=request.user, category=category, title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"], kind=form.cleaned_data["kind"],
                )
            except WebError as error:
                form_add_error(form, error)
            else:
                messages.success(request, _("Your thread is live."))
                return redirect(thread.get_absolute_url())
    return render(request, "community/thread_new.html", {
        "form": form, "category": category, "app": app, "categories": choices,
        "about_app": app or (category.app if category and category.app_id else None),
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(user=request.user, pk=pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            post = services.post_create(author=request.user, thread=thread, body=form.cleaned_data["body"])
        except WebError as error:
            message_error(request, error)
            request.session["community_draft"] = form.cleaned_data["body"]
        else:
            return redirect(post.get_absolute_url())
    else:
        messages.error(request, _("Write a reply first."))
    return redirect(thread.get_absolute_url() + "#reply")


@login_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(user=request.user, pk=pk)
    if not perms.can_edit(request.user, post):
        raise PermissionDenied
    initial = {"body": post.body, "title": post.thread.title}
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.post_edit(post=post, editor=request.user, body=form.cleaned_data["body"],
                               title=form.cleaned_data["title"] if post.number == 1 else None)
        except WebError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _("Saved. The previous version is kept in the edit history."))
            return redirect(post.get_absolute_url())
    return render(request, "community/post_edit.html", {"post": post, "form": form, "thread": post.thread})


def post_history(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(user=request.user, pk=pk)
    if not perms.can_view_history(request.user, post):
        raise Http404
    revisions = list(post.revisions.select_related("editor").order_by("-number"))
    return render(request, "community/post_history.html", {"post": post, "thread": post.thread,
                                                           "revisions": revisions})


def _post_action(request: HttpRequest, pk: int, action: Callable[[Post], str | None]) -> HttpResponseRedirect:
    post = selectors.post_get(user=request.user, pk=pk)
    message = None
    with errors_as_messages(request):
        message = action(post)
    if message:
        messages.success(request, message)
    post.refresh_from_db(fields=["deleted_at"])
    post.thread.refresh_from_db(fields=["deleted_at"])
    if post.thread.deleted_at:
        return redirect(post.thread.category.get_absolute_url())
    return _back(request, post.thread.get_absolute_url())


@login_required
@require_POST
def post_like(request: HttpRequest, pk: int) -> HttpResponse:
    def act(post: Post) -> None:
        if request.POST.get("undo"):
            services.post_unlike(post=post, user=request.user)
        else:
            services.post_like(post=post, user=request.user)

    return _post_action(request, pk, act)


@login_required
@require_POST
def post_flag(request: HttpRequest, pk: int) -> HttpResponse:
    form = FlagForm(request.POST)

    def act(post: Post) -> str:
        if not form.is_valid():
            raise InvalidInput(_("Choose a reason."))
        services.post_flag(post=post, user=request.user, reason=form.cleaned_data["reason"])
        return _("Thanks. Moderators will take a look.")

    return _post_action(request, pk, act)


@login_required
@require_POST
def post_accept(request: HttpRequest, pk: int) -> HttpResponse:
    def act(post: Post) -> str:
        if request.POST.get("undo"):
            services.thread_unaccept(thread=post.thread, actor=request.user)
            return _("The answer is no longer marked as accepted.")
        services.post_accept(post=post, actor=request.user)
        return _("Marked as the accepted answer. The question now shows as solved.")

    return _post_action(request, pk, act)


@login_required
@require_POST
def post_hide(request: HttpRequest, pk: int) -> HttpResponse:
    def act(post: Post) -> str:
        hide = not request.POST.get("undo")
        services.post_set_hidden(post=post, actor=request.user, hidden=hide, reason=request.POST.get("reason", ""))
        return _("Post hidden.") if hide else _("Post visible again.")

    return _post_action(request, pk, act)


@login_required
@require_POST
def post_delete(request: HttpRequest, pk: int) -> HttpResponse:
    def act(post: Post) -> str:
        services.post_delete(post=post, actor=request.user)
        return _("Post deleted.")

    return _post_action(request, pk, act)


@login_required
@require_POST
def thread_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(user=request.user, pk=pk)
    action = request.POST.get("action")
    with errors_as_messages(request):
        if action in ("pin", "unpin"):
            services.thread_set_pinned(thread=thread, actor=request.user, pinned=action == "pin")
        elif action in ("lock", "unlock"):
            services.thread_set_locked(thread=thread, actor=request.user, locked=action == "lock")
        else:
            messages.error(request, _("Unknown action."))
    return redirect(thread.get_absolute_url())


def _watch(request: HttpRequest, *, thread: Thread | None = None,
           category: ForumCategory | None = None) -> HttpResponse:
    """Save the notification level of a thread or a category, then go back to it."""
    target = thread or category
    assert target is not None
    form = WatchForm(request.POST)
    if form.is_valid():
        with errors_as_messages(request) as outcome:
            services.watch_set(user=request.user, thread=thread, category=category, level=form.cleaned_data["level"])
        if not outcome["failed"]:
            messages.success(request, _("Notification level saved."))
    return redirect(target.get_absolute_url())


@login_required
@require_POST
def thread_watch(request: HttpRequest, pk: int) -> HttpResponse:
    return _watch(request, thread=selectors.thread_get(user=request.user, pk=pk))


@login_required
@require_POST
def category_watch(request: HttpRequest, slug: str) -> HttpResponse:
    return _watch(request, category=selectors.category_get(user=request.user, slug=slug))


def search(request: HttpRequest) -> HttpResponse:
    _visit(request)
    query = request.GET.get("q", "").strip()
    category = None
    if request.GET.get("category"):
        category = selectors.category_find(user=request.user, ref=request.GET["category"])
    hits = selectors.search(user=request.user, query=query, category=category) if query else []
    return render(request, "community/search.html", {"query": query, "hits": hits, "category": category})
