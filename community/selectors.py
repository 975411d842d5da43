"""Reads for the forum: visibility always goes through the `visible_to` querysets."""
from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import User
from marketplace.models import App

from .models import CategoryWatch, ForumCategory, Post, Thread, ThreadRead, ThreadWatch, WatchLevel

# Who is looking: a signed-in user or a visitor.
Viewer = User | AnonymousUser


def categories_visible(*, user: Viewer) -> QuerySet[ForumCategory]:
    visible_threads = Thread.objects.visible_to(user)
    return (
        ForumCategory.objects.visible_to(user).select_related("app")
        .annotate(threads_total=Count("threads", filter=Q(threads__in=visible_threads), distinct=True))
    )


def category_get(*, user: Viewer, slug: str) -> ForumCategory:
    category = ForumCategory.objects.visible_to(user).select_related("app", "app__owner").filter(slug=slug).first()
    if category is None:
        raise Http404
    return category


def category_find(*, user: Viewer, ref: str) -> ForumCategory | None:
    """A category by slug or id (the API accepts both)."""
    qs = ForumCategory.objects.visible_to(user).select_related("app")
    if str(ref).isdigit():
        return qs.filter(pk=int(ref)).first()
    return qs.filter(slug=ref).first()


def threads_visible(*, user: Viewer) -> QuerySet[Thread]:
    qs = Thread.objects.visible_to(user).select_related("category", "category__app", "author", "accepted_post")
    if user is not None and user.is_authenticated:
        last_read = ThreadRead.objects.filter(thread=OuterRef("pk"), user=user).values("last_read_post_number")[:1]
        qs = qs.annotate(last_read=Coalesce(Subquery(last_read, output_field=IntegerField()), Value(-1)))
    return qs


def threads_for_category(*, user: Viewer, category: ForumCategory) -> QuerySet[Thread]:
    return threads_visible(user=user).filter(category=category).order_by("-pinned", "-last_posted_at", "-pk")


def threads_latest(*, user: Viewer, limit: int = 10) -> QuerySet[Thread]:
    return threads_visible(user=user).order_by("-last_posted_at", "-pk")[:limit]


def thread_get(*, user: Viewer, pk: int) -> Thread:
    thread = threads_visible(user=user).select_related("category__app__owner").filter(pk=pk).first()
    if thread is None:
        raise Http404
    return thread


def posts_for_thread(*, user: Viewer, thread: Thread) -> QuerySet[Post]:
    return Post.objects.visible_to(user).filter(thread=thread).select_related("author", "thread").order_by("number")


def post_get(*, user: Viewer, pk: int) -> Post:
    post = Post.objects.visible_to(user).select_related("thread__category__app", "author").filter(pk=pk).first()
    if post is None:
        raise Http404
    return post


def unread_state(thread: Thread) -> str:
    """"new" (never opened), "unread" (new replies) or "" for threads annotated by threads_visible."""
    last = getattr(thread, "last_read", None)
    if last is None:
        return ""
    if last < 0:
        return "new"
    return "unread" if thread.highest_post_number > last else ""


def badges_for_posts(*, posts: Sequence[Post], thread: Thread) -> dict[int, list[str]]:
    """"developer" on posts by the app's developer in the app's category, "moderator" on staff."""
    author_ids = {p.author_id for p in posts}
    moderator_ids = set(User.objects.moderators().filter(pk__in=author_ids).values_list("pk", flat=True))
    app = thread.category.app if thread.category.app_id else None
    developer_id = app.owner_id if app else None
    out: dict[int, list[str]] = {}
    for post in posts:
        badges = []
        if developer_id and post.author_id == developer_id:
            badges.append("developer")
        if post.author_id in moderator_ids:
            badges.append("moderator")
        out[post.pk] = badges
    return out


def liked_post_ids(*, user: Viewer, posts: Sequence[Post]) -> set[int]:
    if not (user and user.is_authenticated):
        return set()
    return set(user.forum_likes.filter(post__in=list(posts)).values_list("post_id", flat=True))


def category_for_app(*, app: App) -> ForumCategory | None:
    """An app's forum category, once someone has started a thread about it."""
    return ForumCategory.objects.filter(app=app).first()


def category_watch_level(*, user: Viewer, category: ForumCategory) -> str:
    """The user's chosen level for a category; NORMAL for visitors and users who never chose."""
    if not user.is_authenticated:
        return WatchLevel.NORMAL
    return category.watches.filter(user=user).values_list("level", flat=True).first() or WatchLevel.NORMAL


def effective_watch_level(*, user_id: int, thread: Thread) -> str:
    """The thread's own level if the user chose one, else the category's, else NORMAL."""
    level = ThreadWatch.objects.filter(user_id=user_id, thread=thread).values_list("level", flat=True).first()
    if level:
        return level
    level = CategoryWatch.objects.filter(user_id=user_id, category_id=thread.category_id).values_list(
        "level", flat=True).first()
    return level or WatchLevel.NORMAL


def app_forum(*, app: App, user: Viewer, limit: int = 5) -> dict[str, Any]:
    category = category_for_app(app=app)
    threads = list(threads_for_category(user=user, category=category)[:limit]) if category else []
    return {"category": category, "threads": threads}


@dataclass
class SearchHit:
    thread: Thread
    rank: float
    snippet: str
    post_number: int


def search(*, user: Viewer, query: str, category: ForumCategory | None = None, limit: int = 50) -> list[SearchHit]:
    """Full-text with ranking on PostgreSQL (title weighs more than body); a plain word match elsewhere."""
    query = (query or "").strip()[:200]
    if not query:
        return []
    posts = Post.objects.visible_to(user).select_related("thread__category__app", "thread__author")
    if category is not None:
        posts = posts.filter(thread__category=category)
    hits: dict[int, SearchHit] = {}
    if connection.vendor == "postgresql":
        sq = SearchQuery(query, search_type="websearch", config="english")
        # Highlight any of the words, even where the post matched only through its thread's title.
        terms = [SearchQuery(word, config="english") for word in query.split()[:8]]
        any_word = reduce(operator.or_, terms) if terms else sq
        rows = (
            posts.filter(search_vector=sq)
            .annotate(rank=SearchRank(F("search_vector"), sq),
                      snippet=SearchHeadline("body", any_word, config="english", start_sel="[[", stop_sel="]]",
                                             max_words=24, min_words=8, max_fragments=2,
                                             fragment_delimiter=" … "))
            .order_by("-rank", "-created_at")[: limit * 4]
        )
        for post in rows:
            hit = hits.get(post.thread_id)
            if hit is None or post.rank > hit.rank:
                hits[post.thread_id] = SearchHit(post.thread, float(post.rank), post.snippet, post.number)
    else:
        words = [w for w in query.split() if w][:8]
        cond = Q()
        for word in words:
            cond |= Q(body__icontains=word) | Q(thread__title__icontains=word)
        for found in posts.filter(cond).order_by("-created_at")[: limit * 4]:
            title, body = found.thread.title.lower(), found.body.lower()
            rank = sum(2.0 * (w.lower() in title) + 1.0 * (w.lower() in body) for w in words)
            hit = hits.get(found.thread_id)
            if hit is None or rank > hit.rank:
                hits[found.thread_id] = SearchHit(found.thread, rank, _snippet(found.body, words), found.number)
    return sorted(hits.values(), key=lambda h: (-h.rank, -h.thread.pk))[:limit]


def _snippet(body: str, words: list[str]) -> str:
    lower = body.lower()
    positions = [lower.find(w.lower()) for w in words if w.lower() in lower]
    start = max(0, min(positions) - 60) if positions else 0
    text = body[start:start + 200]
    return ("…" if start else "") + text + ("…" if len(body) > start + 200 else "")
