"""Writes for the forum. Every rule Discourse proved lives here: trust limits, flags, watching, moderation."""
import re
from datetime import timedelta

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Value
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.services import audit_log_record, notification_send
from config.api import ApiError
from config.markdown import render_markdown, strip_bidi

from . import permissions as perms
from . import selectors
from .conf import rule
from .models import (
    CategoryWatch,
    Flag,
    FlagReason,
    FlagStatus,
    ForumCategory,
    ForumProfile,
    Post,
    PostLike,
    PostRevision,
    Thread,
    ThreadKind,
    ThreadRead,
    ThreadWatch,
    TrustLevel,
    WatchLevel,
)

TITLE_MIN = 8
BODY_MIN = 3

# Site-wide categories; created by a data migration and re-ensured by seed_demo. Stored in English and
# translated at render time (`trans_name`), so they are marked for extraction only.
SITE_CATEGORIES = [
    ("announcements", gettext_noop("Announcements"), gettext_noop("News from the ModelMarket team."), True),
    ("general", gettext_noop("General"), gettext_noop("Anything about AI model apps."), False),
    ("help", gettext_noop("Help"), gettext_noop("Questions about using or publishing apps."), False),
    ("show-and-tell", gettext_noop("Show & tell"), gettext_noop("Share what you built with ModelMarket."), False),
]


class RateLimited(ApiError):
    status_code = 429
    default_code = "throttled"
    default_detail = _("You are posting too fast.")


# ---------------------------------------------------------------- helpers

_CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.S)
_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_][\w.+-]{0,149})")


def mentioned_usernames(body: str) -> list[str]:
    """@names outside code, in order, without duplicates."""
    seen: list[str] = []
    for name in _MENTION.findall(_CODE.sub(" ", body or "")):
        name = name.rstrip(".")
        if name.lower() not in [s.lower() for s in seen]:
            seen.append(name)
    return seen


def _link_mentions(body: str, usernames: set[str]) -> str:
    """Turn known @names into profile links before rendering (code spans untouched)."""
    if not usernames:
        return body
    lowered = {u.lower(): u for u in usernames}
    pieces, last = [], 0
    for match in _CODE.finditer(body):
        pieces.append(("text", body[last:match.start()]))
        pieces.append(("code", match.group(0)))
        last = match.end()
    pieces.append(("text", body[last:]))

    def link(m: re.Match) -> str:
        name = m.group(1).rstrip(".")
        real = lowered.get(name.lower())
        if not real:
            return m.group(0)
        return f"[@{real}](/u/{real}/)" + m.group(1)[len(name):]

    return "".join(_MENTION.sub(link, text) if kind == "text" else text for kind, text in pieces)


def post_render(body: str) -> str:
    names = mentioned_usernames(body)
    known = set(User.objects.filter(username__in=names).values_list("username", flat=True)) if names else set()
    return render_markdown(_link_mentions(body, known))


def _clean_body(body: str) -> str:
    body = strip_bidi(body).strip()
    if len(body) < BODY_MIN:
        raise ValidationError({"body": [_("Write at least %(n)d characters.") % {"n": BODY_MIN}]})
    if len(body) > 20000:
        raise ValidationError({"body": [_("Posts are limited to 20,000 characters.")]})
    return body


def _clean_title(title: str) -> str:
    title = " ".join(strip_bidi(title).split())
    if len(title) < TITLE_MIN:
        message = _("Give the thread a title of at least %(n)d characters.") % {"n": TITLE_MIN}
        raise ValidationError({"title": [message]})
    if len(title) > 200:
        raise ValidationError({"title": [_("Titles are limited to 200 characters.")]})
    return title


def _require(allowed: bool, message: str) -> None:
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


def _thread_refresh(thread: Thread) -> None:
    visible = thread.posts.filter(hidden=False, deleted_at__isnull=True)
    thread.posts_count = visible.count()
    thread.last_posted_at = visible.aggregate(m=Max("created_at"))["m"] or thread.created_at
    if thread.accepted_post_id and not visible.filter(pk=thread.accepted_post_id).exists():
        thread.accepted_post = None
    thread.save(update_fields=["posts_count", "last_posted_at", "accepted_post"])


def _enqueue_notify(post: Post) -> None:
    from .tasks import post_notify_task

    post_id = post.pk
    transaction.on_commit(lambda: post_notify_task.delay(post_id))


# ---------------------------------------------------------------- categories


@transaction.atomic
def site_categories_ensure() -> list[ForumCategory]:
    out = []
    for position, (slug, name, description, mods_only) in enumerate(SITE_CATEGORIES):
        category, _created = ForumCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position,
                                 "moderators_only": mods_only},
        )
        out.append(category)
    return out


@transaction.atomic
def category_for_app_ensure(*, app) -> ForumCategory:
    """One category per app, made when it is first published; the developer watches it from the start."""
    existing = ForumCategory.objects.filter(app=app).first()
    if existing:
        if existing.name != app.name[:100]:
            existing.name = app.name[:100]
            existing.save(update_fields=["name"])
        return existing
    base = f"app-{slugify(app.slug)}"[:90]
    slug, n = base, 2
    while ForumCategory.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    category = ForumCategory.objects.create(
        slug=slug, app=app, name=app.name[:100], position=1000,
        description=(app.tagline or "")[:300],
    )
    CategoryWatch.objects.get_or_create(user=app.owner, category=category, defaults={"level": WatchLevel.WATCHING})
    return category


# ---------------------------------------------------------------- trust levels


def forum_profile_ensure(*, user: User) -> ForumProfile:
    profile = getattr(user, "forum_profile", None)
    if profile is None:
        try:
            profile = ForumProfile.objects.get(user=user)
        except ForumProfile.DoesNotExist:
            try:
                with transaction.atomic():
                    profile = ForumProfile.objects.create(user=user)
            except IntegrityError:
                profile = ForumProfile.objects.get(user=user)
        user.forum_profile = profile
    return profile


def trust_level_of(user: User) -> int:
    """Read fresh from the database: limits must not trust a profile cached on a long-lived user object."""
    if perms.is_moderator(user):
        return TrustLevel.MEMBER
    level = ForumProfile.objects.filter(user=user).values_list("trust_level", flat=True).first()
    return TrustLevel.NEW if level is None else level


@transaction.atomic
def trust_level_recompute(*, user: User) -> ForumProfile:
    """Promote by activity (days visited, posts read, likes received); never demote automatically."""
    profile = ForumProfile.objects.select_for_update().get(pk=forum_profile_ensure(user=user).pk)
    level = profile.trust_level
    for target, needs in sorted(rule("PROMOTE").items()):
        if target > level and all(getattr(profile, field) >= minimum for field, minimum in needs.items()):
            level = target
        elif target > level:
            break
    if level != profile.trust_level:
        profile.trust_level = level
        profile.save(update_fields=["trust_level"])
        notification_send(
            user=user, kind="forum.trust", url="/forum/",
            template=gettext_noop("You reached trust level %(level)s in the forum: your posting limits are higher "
                                  "now."),
            params={"level": level},
            dedupe_key=f"forum.trust.{level}",
        )
    user.forum_profile = profile
    return profile


@transaction.atomic
def forum_visit_record(*, user: User) -> ForumProfile:
    """Counts a day visited at most once a day."""
    profile = forum_profile_ensure(user=user)
    today = timezone.localdate()
    if profile.last_visit_date != today:
        updated = ForumProfile.objects.filter(pk=profile.pk).exclude(last_visit_date=today).update(
            days_visited=F("days_visited") + 1, last_visit_date=today
        )
        if updated:
            profile.refresh_from_db()
            profile = trust_level_recompute(user=user)
    return profile


def _check_content_limits(*, user: User, body: str) -> None:
    """New users get fewer links, images and mentions per post, like Discourse's trust level 0."""
    if perms.is_moderator(user):
        return
    level = trust_level_of(user)
    html = render_markdown(body)
    checks = [
        (html.count("<a "), rule("MAX_LINKS")[level],
         _("New users can put at most %(n)d links in a post. Take part a little longer and the limit goes up.")),
        (html.count("<img"), rule("MAX_IMAGES")[level],
         _("New users can put at most %(n)d images in a post. Take part a little longer and the limit goes up.")),
        (len(mentioned_usernames(body)), rule("MAX_MENTIONS")[level],
         _("New users can mention at most %(n)d people in a post. Take part a little longer and the limit goes up.")),
    ]
    for count, limit, message in checks:
        if count > limit:
            if level > 0:
                message = _("You can put at most %(n)d of these in one post.")
            raise ValidationError({"body": [message % {"n": limit}]})


def _check_rate(*, user: User) -> None:
    if perms.is_moderator(user):
        return
    until = ForumProfile.objects.filter(user=user, suspended_until__gt=timezone.now()).values_list(
        "suspended_until", flat=True).first()
    if until:
        raise PermissionDenied(_("Your forum account is suspended until %(until)s.") % {
            "until": until.strftime("%Y-%m-%d %H:%M UTC")})
    limit = rule("POSTS_PER_HOUR")[trust_level_of(user)]
    since = timezone.now() - timedelta(hours=1)
    recent = Post.objects.filter(author=user, created_at__gte=since).order_by("created_at")
    if recent.count() >= limit:
        oldest = recent.first().created_at
        retry = max(1, int((oldest + timedelta(hours=1) - timezone.now()).total_seconds()))
        raise RateLimited(
            _("You can write %(n)d posts an hour at your trust level. Try again in %(m)d minutes.")
            % {"n": limit, "m": max(1, retry // 60)},
            headers={"Retry-After": str(retry)},
        )


# ---------------------------------------------------------------- threads and posts


def _post_add(*, thread: Thread, author: User, body: str) -> Post:
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    number = thread.highest_post_number + 1
    post = Post.objects.create(thread=thread, number=number, author=author, body=body, body_html=post_render(body))
    Thread.objects.filter(pk=thread.pk).update(highest_post_number=number)
    thread.highest_post_number = number
    _thread_refresh(thread)
    _search_reindex_post(post, thread)
    ThreadRead.objects.update_or_create(user=author, thread=thread, defaults={"last_read_post_number": number})
    _enqueue_notify(post)
    post.thread = thread
    return post


def _search_reindex_post(post: Post, thread: Thread) -> None:
    if connection.vendor == "postgresql":
        Post.objects.filter(pk=post.pk).update(
            search_vector=SearchVector(Value(thread.title), weight="A", config="english")
            + SearchVector("body", weight="B", config="english")
        )


@transaction.atomic
def thread_create(*, author: User, category: ForumCategory, title: str, body: str, kind: str) -> Thread:
    if kind not in ThreadKind.values:
        raise ValidationError({"kind": [_("Kind must be “discussion” or “question”.")]})
    title, body = _clean_title(title), _clean_body(body)
    _check_rate(user=author)
    _require(perms.can_start_thread(author, category), _("Only moderators can start threads in this category."))
    _check_content_limits(user=author, body=body)
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
    _check_rate(user=author)
    _require(perms.can_reply(author, thread), _("This thread is locked: it takes no new replies."))
    _check_content_limits(user=author, body=body)
    return _post_add(thread=thread, author=author, body=body)


@transaction.atomic
def post_edit(*, post: Post, editor: User, body: str, title: str | None = None) -> Post:
    """Keeps the previous text as a revision, so the edit history survives."""
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    _require(perms.can_edit(editor, post), _("You cannot edit this post."))
    body = _clean_body(body)
    thread = post.thread
    new_title = _clean_title(title) if (title is not None and post.number == 1) else thread.title
    if body == post.body and new_title == thread.title:
        return post
    _check_content_limits(user=editor, body=body)
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
    _require(perms.can_delete(actor, post), _("You cannot delete this post."))
    if post.deleted_at:
        return post
    post.deleted_at = timezone.now()
    post.save(update_fields=["deleted_at"])
    thread = post.thread
    if post.number == 1:
        thread.deleted_at = post.deleted_at
        thread.save(update_fields=["deleted_at"])
    _thread_refresh(thread)
    if actor.pk != post.author_id:
        audit_log_record(actor=actor, action="forum.post.delete", target=post, reason=reason)
    return post


@transaction.atomic
def post_like(*, post: Post, user: User) -> Post:
    _require(perms.can_like(user, post), _("You cannot like your own post."))
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
    _require(perms.can_accept(actor, post),
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
    if thread.accepted_post_id is None:
        return thread
    _require(perms.can_accept(actor, thread.accepted_post), _("You cannot change the accepted answer."))
    thread.accepted_post = None
    thread.save(update_fields=["accepted_post"])
    return thread


@transaction.atomic
def thread_set_pinned(*, thread: Thread, actor: User, pinned: bool) -> Thread:
    _require(perms.can_pin(actor, thread), _("Only moderators can pin threads."))
    if thread.pinned != pinned:
        thread.pinned = pinned
        thread.save(update_fields=["pinned"])
        audit_log_record(actor=actor, action="forum.thread.pin" if pinned else "forum.thread.unpin", target=thread)
    return thread


@transaction.atomic
def thread_set_locked(*, thread: Thread, actor: User, locked: bool) -> Thread:
    _require(perms.can_lock(actor, thread), _("Only moderators can lock threads."))
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
    _thread_refresh(Thread.objects.get(pk=post.thread_id))


@transaction.atomic
def post_set_hidden(*, post: Post, actor: User, hidden: bool, reason: str = "") -> Post:
    _require(perms.can_hide(actor, post), _("Only moderators can hide posts."))
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
        return rule("HIDE_THRESHOLD")
    return 1 + trust_level_of(user)


@transaction.atomic
def post_flag(*, post: Post, user: User, reason: str) -> Flag:
    if reason not in FlagReason.values:
        raise ValidationError({"reason": [_("Reason must be spam, abusive or off_topic.")]})
    _require(perms.can_flag(user, post), _("You cannot flag your own post."))
    if not perms.is_moderator(user):
        limit = rule("FLAGS_PER_DAY")[trust_level_of(user)]
        if Flag.objects.filter(user=user, created_at__gte=timezone.now() - timedelta(days=1)).count() >= limit:
            raise RateLimited(_("You can flag %(n)d posts a day at your trust level.") % {"n": limit},
                              headers={"Retry-After": "3600"})
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    if Flag.objects.filter(post=post, user=user).exists():
        from config.api import Conflict

        raise Conflict(_("You already flagged this post."), code="already_flagged")
    flag = Flag.objects.create(post=post, user=user, reason=reason, score=flag_weight(user))
    post.flag_score = sum(Flag.objects.filter(post=post, status=FlagStatus.PENDING).values_list("score", flat=True))
    post.save(update_fields=["flag_score"])
    if not post.hidden and post.flag_score >= rule("HIDE_THRESHOLD"):
        _post_set_hidden(post, True, _("Hidden by community flags."))
        audit_log_record(actor=None, action="forum.post.autohide", target=post,
                         data={"score": post.flag_score, "threshold": rule("HIDE_THRESHOLD")})
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
    _require(perms.is_moderator(moderator), _("Only moderators review flags."))
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
    _require(perms.is_moderator(moderator), _("Only moderators review flags."))
    post = Post.objects.select_for_update().get(pk=post.pk)
    count = _flags_resolve(post, moderator, FlagStatus.AGREED)
    if not post.hidden:
        _post_set_hidden(post, True, reason or _("Hidden by a moderator."))
    audit_log_record(actor=moderator, action="forum.review.hide", target=post, reason=reason, data={"flags": count})
    return post


@transaction.atomic
def review_delete(*, post: Post, moderator: User, reason: str = "") -> Post:
    _require(perms.is_moderator(moderator), _("Only moderators review flags."))
    count = _flags_resolve(post, moderator, FlagStatus.AGREED)
    post = post_delete(post=post, actor=moderator, reason=reason)
    audit_log_record(actor=moderator, action="forum.review.delete", target=post, reason=reason,
                     data={"flags": count})
    return post


@transaction.atomic
def user_forum_suspend(*, user: User, moderator: User, days: int | None = None, reason: str = "") -> ForumProfile:
    """Stops the person posting, replying, flagging and editing for a while; reading stays open."""
    _require(perms.is_moderator(moderator), _("Only moderators suspend people."))
    if user.is_moderator:
        raise ValidationError(_("Moderators cannot be suspended from the forum."))
    days = days or rule("SUSPEND_DAYS")
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
    _require(perms.is_moderator(moderator), _("Only moderators lift suspensions."))
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


# ---------------------------------------------------------------- watching, reading, notifications


@transaction.atomic
def watch_set(*, user: User, level: str, thread: Thread | None = None,
              category: ForumCategory | None = None) -> str:
    if level not in WatchLevel.values:
        raise ValidationError({"level": [_("Level must be watching, normal or muted.")]})
    if thread is not None:
        ThreadWatch.objects.update_or_create(user=user, thread=thread, defaults={"level": level})
    elif category is not None:
        CategoryWatch.objects.update_or_create(user=user, category=category, defaults={"level": level})
    else:
        raise ValidationError(_("Choose a thread or a category to watch."))
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
