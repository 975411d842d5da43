"""Threads and posts: writing, editing, deleting, liking and accepting answers."""
from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.services import audit_log_record, notification_send
from config.errors import InvalidInput, PermissionDenied
from config.markdown import strip_bidi

from .. import permissions as perms
from ..models import (
    ForumCategory,
    ForumProfile,
    Post,
    PostLike,
    PostRevision,
    Thread,
    ThreadKind,
    ThreadRead,
    ThreadWatch,
    WatchLevel,
)
from .rendering import post_render
from .trust import check_content_limits, check_rate, forum_profile_ensure, trust_level_recompute

TITLE_MIN = 8
BODY_MIN = 3


def _clean_body(body: str) -> str:
    body = strip_bidi(body).strip()
    if len(body) < BODY_MIN:
        raise InvalidInput(fields={"body": [_("Write at least %(n)d characters.") % {"n": BODY_MIN}]})
    if len(body) > 20000:
        raise InvalidInput(fields={"body": [_("Posts are limited to 20,000 characters.")]})
    return body


def _clean_title(title: str) -> str:
    title = " ".join(strip_bidi(title).split())
    if len(title) < TITLE_MIN:
        message = _("Give the thread a title of at least %(n)d characters.") % {"n": TITLE_MIN}
        raise InvalidInput(fields={"title": [message]})
    if len(title) > 200:
        raise InvalidInput(fields={"title": [_("Titles are limited to 200 characters.")]})
    return title


def require(allowed: bool, message: str) -> None:
    """The permission rule (community/permissions.py) as a service check: PermissionDenied with the reason."""
    if not allowed:
        raise PermissionDenied(message)


def _search_reindex(thread: Thread) -> None:
    """PostgreSQL full-text: title weighs A, body B. SQLite searches without an index (see selectors)."""
    if connection.vendor != "postgresql":
        return
    Post.objects.filter(thread=thread).update(
        search_vector=SearchVector(Value(thread.title), weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
    )


def _search_reindex_post(post: Post, thread: Thread) -> None:
    if connection.vendor == "postgresql":
        Post.objects.filter(pk=post.pk).update(
            search_vector=SearchVector(Value(thread.title), weight="A", config="english")
            + SearchVector("body", weight="B", config="english")
        )


def thread_refresh(thread: Thread) -> None:
    """Recount the visible posts and the last activity; drop an accepted answer that is no longer visible."""
    visible = thread.posts.filter(hidden=False, deleted_at__isnull=True)
    thread.posts_count = visible.count()
    thread.last_posted_at = visible.aggregate(m=Max("created_at"))["m"] or thread.created_at
    if thread.accepted_post_id and not visible.filter(pk=thread.accepted_post_id).exists():
        thread.accepted_post = None
    thread.save(update_fields=["posts_count", "last_posted_at", "accepted_post"])


def _enqueue_notify(post: Post) -> None:
    from ..tasks import post_notify_task

    post_id = post.pk
    transaction.on_commit(lambda: post_notify_task.delay(post_id))


def _post_add(*, thread: Thread, author: User, body: str) -> Post:
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    number = thread.highest_post_number + 1
    post = Post.objects.create(thread=thread, number=number, author=author, body=body, body_html=post_render(body))
    Thread.objects.filter(pk=thread.pk).update(highest_post_number=number)
    thread.highest_post_number = number
    thread_refresh(thread)
    _search_reindex_post(post, thread)
    ThreadRead.objects.update_or_create(user=author, thread=thread, defaults={"last_read_post_number": number})
    _enqueue_notify(post)
    post.thread = thread
    return post


@transaction.atomic
def thread_create(*, author: User, category: ForumCategory, title: str, body: str, kind: str) -> Thread:
    if kind not in ThreadKind.values:
        raise InvalidInput(fields={"kind": [_("Kind must be “discussion” or “question”.")]})
    title, body = _clean_title(title), _clean_body(body)
    check_rate(user=author)
    require(perms.can_start_thread(author, category), _("Only moderators can start threads in this category."))
    check_content_limits(user=author, body=body)
    thread = Thread.objects.create(category=category, author=author, title=title, kind=kind,
                                   last_posted_at=timezone.now())
    ThreadWatch.objects.create(user=author, thread=thread, level=WatchLevel.WATCHING)
    _post_add(thread=thread, author=author, body=body)
    thread.refresh_from_db()
    return thread


@transaction.atomic
def post_create(*, author: User, thread: Thread, body: str) -> Post:
    body = _clean_body(body)
    thread = Thread.objects.select_related("category__app").get(pk=thread.pk)
    check_rate(user=author)
    require(perms.can_reply(author, thread), _("This thread is locked: it takes no new replies."))
    check_content_limits(user=author, body=body)
    return _post_add(thread=thread, author=author, body=body)


@transaction.atomic
def post_edit(*, post: Post, editor: User, body: str, title: str | None = None) -> Post:
    """Keeps the previous text as a revision, so the edit history survives."""
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    require(perms.can_edit(editor, post), _("You cannot edit this post."))
    body = _clean_body(body)
    thread = post.thread
    new_title = _clean_title(title) if (title is not None and post.number == 1) else thread.title
    if body == post.body and new_title == thread.title:
        return post
    check_content_limits(user=editor, body=body)
    last = post.revisions.aggregate(m=Max("number"))["m"] or 0
    PostRevision.objects.create(post=post, number=last + 1, editor=editor, body=post.body,
                                title=thread.title if post.number == 1 else "")
    post.body, post.body_html = body, post_render(body)
    post.edited_at, post.edit_count = timezone.now(), post.edit_count + 1
    post.save(update_fields=["body", "body_html", "edited_at", "edit_count"])
    if new_title != thread.title:
        thread.title = new_title
        thread.save(update_fields=["title"])
        _search_reindex(thread)
    else:
        _search_reindex_post(post, thread)
    if editor.pk != post.author_id:
        audit_log_record(actor=editor, action="forum.post.edit", target=post, data={"revision": last + 1})
    _enqueue_notify(post)
    return post


@transaction.atomic
def post_delete(*, post: Post, actor: User, reason: str = "") -> Post:
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    require(perms.can_delete(actor, post), _("You cannot delete this post."))
    if post.deleted_at:
        return post
    post.deleted_at = timezone.now()
    post.save(update_fields=["deleted_at"])
    thread = post.thread
    if post.number == 1:
        thread.deleted_at = post.deleted_at
        thread.save(update_fields=["deleted_at"])
    thread_refresh(thread)
    if actor.pk != post.author_id:
        audit_log_record(actor=actor, action="forum.post.delete", target=post, reason=reason)
    return post


@transaction.atomic
def post_like(*, post: Post, user: User) -> Post:
    require(perms.can_like(user, post), _("You cannot like your own post."))
    try:
        with transaction.atomic():
            PostLike.objects.create(post=post, user=user)
    except IntegrityError:
        post.refresh_from_db(fields=["likes_count"])
        return post
    Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") + 1)
    profile = forum_profile_ensure(user=post.author)
    ForumProfile.objects.filter(pk=profile.pk).update(likes_received=F("likes_received") + 1)
    profile.refresh_from_db()
    trust_level_recompute(user=post.author)
    notification_send(
        user=post.author, kind="forum.like", url=post.get_absolute_url(),
        template=gettext_noop("%(user)s liked your post in “%(title)s”."),
        params={"user": user.username, "title": post.thread.title},
        dedupe_key=f"forum.like.{post.pk}.{user.pk}",
    )
    post.refresh_from_db(fields=["likes_count"])
    return post


@transaction.atomic
def post_unlike(*, post: Post, user: User) -> Post:
    deleted, _detail = PostLike.objects.filter(post=post, user=user).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") - 1)
        ForumProfile.objects.filter(user_id=post.author_id, likes_received__gt=0).update(
            likes_received=F("likes_received") - 1)
    post.refresh_from_db(fields=["likes_count"])
    return post


@transaction.atomic
def post_accept(*, post: Post, actor: User) -> Thread:
    thread = Thread.objects.select_for_update(of=("self",)).select_related("category__app").get(pk=post.thread_id)
    post = Post.objects.select_related("author").get(pk=post.pk)
    post.thread = thread
    require(perms.can_accept(actor, post),
            _("Only the asker, the app's developer or a moderator can accept an answer to a question."))
    if thread.accepted_post_id == post.pk:
        return thread
    thread.accepted_post = post
    thread.save(update_fields=["accepted_post"])
    if perms.is_moderator(actor) and actor.pk not in (thread.author_id, perms.app_developer_id(thread.category)):
        audit_log_record(actor=actor, action="forum.thread.accept", target=thread, data={"post": post.pk})
    if post.author_id != actor.pk:
        notification_send(
            user=post.author, kind="forum.accepted", url=post.get_absolute_url(),
            template=gettext_noop("Your answer in “%(title)s” was accepted."), params={"title": thread.title},
            dedupe_key=f"forum.accepted.{post.pk}",
        )
    return thread


@transaction.atomic
def thread_unaccept(*, thread: Thread, actor: User) -> Thread:
    if thread.accepted_post_id is None or thread.accepted_post is None:
        return thread
    require(perms.can_accept(actor, thread.accepted_post), _("You cannot change the accepted answer."))
    thread.accepted_post = None
    thread.save(update_fields=["accepted_post"])
    return thread
