"""Who may do what in the forum: the one place these rules live (services enforce, templates ask)."""
from django.utils import timezone

from .models import ForumCategory, Post, Thread, ThreadKind


def _authenticated(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_moderator(user) -> bool:
    return _authenticated(user) and user.is_moderator


def is_suspended(user) -> bool:
    profile = getattr(user, "forum_profile", None) if _authenticated(user) else None
    return bool(profile and profile.suspended_until and profile.suspended_until > timezone.now())


def app_developer_id(category: ForumCategory) -> int | None:
    return category.app.owner_id if category.app_id else None


def can_start_thread(user, category: ForumCategory) -> bool:
    if not _authenticated(user) or is_suspended(user):
        return False
    return is_moderator(user) or not category.moderators_only


def can_reply(user, thread: Thread) -> bool:
    if not _authenticated(user) or is_suspended(user) or thread.deleted_at:
        return False
    return is_moderator(user) or not (thread.locked or thread.hidden)


def can_edit(user, post: Post) -> bool:
    """Authors edit their own posts while the thread is open and the post not hidden; moderators always."""
    if is_moderator(user):
        return True
    if not _authenticated(user) or is_suspended(user) or post.author_id != user.pk:
        return False
    return not (post.thread.locked or post.hidden or post.deleted_at)


def can_delete(user, post: Post) -> bool:
    """Authors delete their replies, and their opening post while nobody answered; moderators always."""
    if is_moderator(user):
        return True
    if not _authenticated(user) or post.author_id != user.pk or post.deleted_at or post.thread.locked:
        return False
    return post.number > 1 or post.thread.posts_count <= 1


def can_accept(user, post: Post) -> bool:
    """The asker, the app's developer (in the app's category) or a moderator accepts an answer."""
    thread = post.thread
    if not _authenticated(user) or thread.kind != ThreadKind.QUESTION or post.number == 1:
        return False
    if post.hidden or post.deleted_at:
        return False
    if is_moderator(user):
        return True
    if is_suspended(user):
        return False
    return user.pk in (thread.author_id, app_developer_id(thread.category))


def can_view_history(user, post: Post) -> bool:
    """Old versions may hold what a moderator edited out: only the author and moderators see them."""
    return is_moderator(user) or (_authenticated(user) and post.author_id == user.pk)


def can_like(user, post: Post) -> bool:
    return _authenticated(user) and post.author_id != user.pk and not post.hidden and not post.deleted_at


def can_flag(user, post: Post) -> bool:
    return _authenticated(user) and post.author_id != user.pk and not post.deleted_at


def can_pin(user, thread: Thread) -> bool:
    return is_moderator(user)


def can_lock(user, thread: Thread) -> bool:
    return is_moderator(user)


def can_hide(user, post: Post) -> bool:
    return is_moderator(user)
