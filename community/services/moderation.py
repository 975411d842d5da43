"""Moderation: pinning and locking threads, hiding posts, flags and their review, forum suspensions."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.services import audit_log_record, notification_send
from config.errors import Conflict, InvalidInput

from .. import permissions as perms
from ..models import Flag, FlagReason, FlagStatus, ForumProfile, Post, Thread
from .posts import post_delete, require, thread_refresh
from .trust import RateLimited, forum_profile_ensure, trust_level_of


@transaction.atomic
def thread_set_pinned(*, thread: Thread, actor: User, pinned: bool) -> Thread:
    require(perms.can_pin(actor, thread), _("Only moderators can pin threads."))
    if thread.pinned != pinned:
        thread.pinned = pinned
        thread.save(update_fields=["pinned"])
        audit_log_record(actor=actor, action="forum.thread.pin" if pinned else "forum.thread.unpin", target=thread)
    return thread


@transaction.atomic
def thread_set_locked(*, thread: Thread, actor: User, locked: bool) -> Thread:
    require(perms.can_lock(actor, thread), _("Only moderators can lock threads."))
    if thread.locked != locked:
        thread.locked = locked
        thread.save(update_fields=["locked"])
        audit_log_record(actor=actor, action="forum.thread.lock" if locked else "forum.thread.unlock", target=thread)
    return thread


def _post_set_hidden(post: Post, hidden: bool, reason: str) -> None:
    post.hidden = hidden
    post.hidden_reason = reason[:200] if hidden else ""
    post.save(update_fields=["hidden", "hidden_reason"])
    if post.number == 1:
        Thread.objects.filter(pk=post.thread_id).update(hidden=hidden)
    thread_refresh(Thread.objects.get(pk=post.thread_id))


@transaction.atomic
def post_set_hidden(*, post: Post, actor: User, hidden: bool, reason: str = "") -> Post:
    require(perms.can_hide(actor, post), _("Only moderators can hide posts."))
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.hidden != hidden:
        _post_set_hidden(post, hidden, reason or _("Hidden by a moderator."))
        audit_log_record(actor=actor, action="forum.post.hide" if hidden else "forum.post.unhide",
                         target=post, reason=reason)
    return post


# ---------------------------------------------------------------- flags and review


def flag_weight(user: User) -> int:
    """1 + trust level; a moderator's flag alone reaches the hiding threshold."""
    if perms.is_moderator(user):
        return int(settings.COMMUNITY_HIDE_THRESHOLD)
    return 1 + trust_level_of(user)


@transaction.atomic
def post_flag(*, post: Post, user: User, reason: str) -> Flag:
    if reason not in FlagReason.values:
        raise InvalidInput(fields={"reason": [_("Reason must be spam, abusive or off_topic.")]})
    require(perms.can_flag(user, post), _("You cannot flag your own post."))
    if not perms.is_moderator(user):
        limit = settings.COMMUNITY_FLAGS_PER_DAY[trust_level_of(user)]
        if Flag.objects.filter(user=user, created_at__gte=timezone.now() - timedelta(days=1)).count() >= limit:
            raise RateLimited(_("You can flag %(n)d posts a day at your trust level.") % {"n": limit},
                              headers={"Retry-After": "3600"})
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    if Flag.objects.filter(post=post, user=user).exists():
        raise Conflict(_("You already flagged this post."), code="already_flagged")
    flag = Flag.objects.create(post=post, user=user, reason=reason, score=flag_weight(user))
    post.flag_score = sum(Flag.objects.filter(post=post, status=FlagStatus.PENDING).values_list("score", flat=True))
    post.save(update_fields=["flag_score"])
    threshold = settings.COMMUNITY_HIDE_THRESHOLD
    if not post.hidden and post.flag_score >= threshold:
        _post_set_hidden(post, True, _("Hidden by community flags."))
        audit_log_record(actor=None, action="forum.post.autohide", target=post,
                         data={"score": post.flag_score, "threshold": threshold})
        notification_send(
            user=post.author, kind="forum.hidden", url=post.thread.get_absolute_url(),
            template=gettext_noop("Your post in “%(title)s” was hidden after flags from the community; a moderator "
                                  "will review it."),
            params={"title": post.thread.title},
            dedupe_key=f"forum.hidden.{post.pk}",
        )
    return flag


def _flags_resolve(post: Post, moderator: User, status: str) -> int:
    return Flag.objects.filter(post=post, status=FlagStatus.PENDING).update(
        status=status, resolved_by=moderator, resolved_at=timezone.now())


@transaction.atomic
def review_approve(*, post: Post, moderator: User, reason: str = "") -> Post:
    """The post is fine: dismiss the flags and show it again."""
    require(perms.is_moderator(moderator), _("Only moderators review flags."))
    post = Post.objects.select_for_update().get(pk=post.pk)
    count = _flags_resolve(post, moderator, FlagStatus.DISAGREED)
    post.flag_score = 0
    post.save(update_fields=["flag_score"])
    if post.hidden:
        _post_set_hidden(post, False, "")
    audit_log_record(actor=moderator, action="forum.review.approve", target=post, reason=reason,
                     data={"flags": count})
    return post


@transaction.atomic
def review_hide(*, post: Post, moderator: User, reason: str = "") -> Post:
    require(perms.is_moderator(moderator), _("Only moderators review flags."))
    post = Post.objects.select_for_update().get(pk=post.pk)
    count = _flags_resolve(post, moderator, FlagStatus.AGREED)
    if not post.hidden:
        _post_set_hidden(post, True, reason or _("Hidden by a moderator."))
    audit_log_record(actor=moderator, action="forum.review.hide", target=post, reason=reason, data={"flags": count})
    return post


@transaction.atomic
def review_delete(*, post: Post, moderator: User, reason: str = "") -> Post:
    require(perms.is_moderator(moderator), _("Only moderators review flags."))
    count = _flags_resolve(post, moderator, FlagStatus.AGREED)
    post = post_delete(post=post, actor=moderator, reason=reason)
    audit_log_record(actor=moderator, action="forum.review.delete", target=post, reason=reason,
                     data={"flags": count})
    return post


# ---------------------------------------------------------------- suspensions


@transaction.atomic
def user_forum_suspend(*, user: User, moderator: User, days: int | None = None, reason: str = "") -> ForumProfile:
    """Stops the person posting, replying, flagging and editing for a while; reading stays open."""
    require(perms.is_moderator(moderator), _("Only moderators suspend people."))
    if user.is_moderator:
        raise InvalidInput.non_field(_("Moderators cannot be suspended from the forum."))
    days = days or settings.COMMUNITY_SUSPEND_DAYS
    profile = ForumProfile.objects.select_for_update().get(pk=forum_profile_ensure(user=user).pk)
    profile.suspended_until = timezone.now() + timedelta(days=days)
    profile.suspended_reason = reason[:300]
    profile.save(update_fields=["suspended_until", "suspended_reason"])
    user.forum_profile = profile
    audit_log_record(actor=moderator, action="forum.user.suspend", target=user, reason=reason, data={"days": days})
    notification_send(
        user=user, kind="forum.suspended", url="/forum/",
        template=gettext_noop("You are suspended from posting in the forum for %(days)d days."),
        params={"days": days},
    )
    return profile


@transaction.atomic
def user_forum_unsuspend(*, user: User, moderator: User) -> ForumProfile:
    require(perms.is_moderator(moderator), _("Only moderators lift suspensions."))
    profile = forum_profile_ensure(user=user)
    if profile.suspended_until:
        profile.suspended_until = None
        profile.save(update_fields=["suspended_until"])
        audit_log_record(actor=moderator, action="forum.user.unsuspend", target=user)
    return profile


@transaction.atomic
def review_suspend_author(*, post: Post, moderator: User, reason: str = "") -> Post:
    """Agrees with the flags, hides the post and suspends its author."""
    post = review_hide(post=post, moderator=moderator, reason=reason)
    user_forum_suspend(user=post.author, moderator=moderator, reason=reason or _("Flagged post: %(post)s") % {
        "post": str(post)})
    return post
