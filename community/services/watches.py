"""Watching, reading and notifications: who hears about a new post, and what counts as read."""
from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.services import notification_send
from config.errors import InvalidInput

from .. import selectors
from ..models import CategoryWatch, ForumCategory, ForumProfile, Post, Thread, ThreadRead, ThreadWatch, WatchLevel
from .rendering import mentioned_usernames
from .trust import forum_profile_ensure, trust_level_recompute


@transaction.atomic
def watch_set(*, user: User, level: str, thread: Thread | None = None,
              category: ForumCategory | None = None) -> str:
    """A thread's or a category's notification level for `user` (a thread's level overrides its category's)."""
    if level not in WatchLevel.values:
        raise InvalidInput(fields={"level": [_("Level must be watching, normal or muted.")]})
    if thread is not None:
        ThreadWatch.objects.update_or_create(user=user, thread=thread, defaults={"level": level})
    elif category is not None:
        CategoryWatch.objects.update_or_create(user=user, category=category, defaults={"level": level})
    else:
        raise InvalidInput.non_field(_("Choose a thread or a category to watch."))
    return level


@transaction.atomic
def thread_mark_read(*, user: User, thread: Thread, up_to: int) -> int:
    """Remembers the highest post read; newly read posts count towards trust-level promotion."""
    read, _created = ThreadRead.objects.select_for_update().get_or_create(user=user, thread=thread)
    new = up_to - read.last_read_post_number
    if new <= 0:
        return 0
    read.last_read_post_number = up_to
    read.save(update_fields=["last_read_post_number", "updated_at"])
    profile = forum_profile_ensure(user=user)
    ForumProfile.objects.filter(pk=profile.pk).update(posts_read=F("posts_read") + new)
    profile.refresh_from_db()
    trust_level_recompute(user=user)
    return new


def post_notify(*, post_id: int) -> int:
    """Mentions and watchers, one notification per person per post (the dedupe key), email for watchers."""
    post = Post.objects.select_related("thread__category__app", "author").filter(pk=post_id).first()
    if post is None or post.hidden or post.deleted_at or post.thread.hidden or post.thread.deleted_at:
        return 0
    thread = post.thread
    mentioned = {u.pk: u for u in User.objects.filter(username__in=mentioned_usernames(post.body), is_active=True)}
    watcher_ids = set(ThreadWatch.objects.filter(thread=thread, level=WatchLevel.WATCHING).values_list(
        "user_id", flat=True))
    category_watchers = set(CategoryWatch.objects.filter(
        category_id=thread.category_id, level=WatchLevel.WATCHING).values_list("user_id", flat=True))
    overridden = set(ThreadWatch.objects.filter(thread=thread).exclude(level=WatchLevel.WATCHING).values_list(
        "user_id", flat=True))
    watcher_ids |= category_watchers - overridden
    recipients = (set(mentioned) | watcher_ids) - {post.author_id}
    sent = 0
    users = User.objects.filter(pk__in=recipients, is_active=True)
    for user in users:
        level = selectors.effective_watch_level(user_id=user.pk, thread=thread)
        if level == WatchLevel.MUTED:
            continue
        if not Thread.objects.visible_to(user).filter(pk=thread.pk).exists():
            continue
        values = {"user": post.author.username, "title": thread.title}
        if user.pk in mentioned:
            template = gettext_noop("%(user)s mentioned you in “%(title)s”.")
        elif post.number == 1:
            template = gettext_noop("%(user)s started “%(title)s”.")
        else:
            template = gettext_noop("%(user)s replied in “%(title)s”.")
        watching = level == WatchLevel.WATCHING
        created = notification_send(
            user=user, kind="forum.mention" if user.pk in mentioned else "forum.post",
            template=template, params=values, url=post.get_absolute_url(), dedupe_key=f"forum.post.{post.pk}",
            email_subject=(_("[ModelMarket forum] %(title)s") % values) if watching else None,
        )
        sent += created is not None
    return sent
