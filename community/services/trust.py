"""Trust levels, Discourse-style: new people get tighter limits, which loosen as they take part.

The limits per trust level are `settings.COMMUNITY_*` (config/settings.py), read at call time.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User
from accounts.services import notification_send
from config.errors import InvalidInput, PermissionDenied, Throttled
from config.markdown import render_markdown

from .. import permissions as perms
from ..models import ForumProfile, Post, TrustLevel
from .rendering import mentioned_usernames


class RateLimited(Throttled):
    """Posting or flagging faster than the trust level allows (429, with Retry-After)."""

    default_message = gettext_lazy("You are posting too fast.")


def forum_profile_ensure(*, user: User) -> ForumProfile:
    profile: ForumProfile | None = getattr(user, "forum_profile", None)
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
    for target, needs in sorted(settings.COMMUNITY_PROMOTE.items()):
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


def check_content_limits(*, user: User, body: str) -> None:
    """New users get fewer links, images and mentions per post, like Discourse's trust level 0."""
    if perms.is_moderator(user):
        return
    level = trust_level_of(user)
    html = render_markdown(body)
    checks = [
        (html.count("<a "), settings.COMMUNITY_MAX_LINKS[level],
         _("New users can put at most %(n)d links in a post. Take part a little longer and the limit goes up.")),
        (html.count("<img"), settings.COMMUNITY_MAX_IMAGES[level],
         _("New users can put at most %(n)d images in a post. Take part a little longer and the limit goes up.")),
        (len(mentioned_usernames(body)), settings.COMMUNITY_MAX_MENTIONS[level],
         _("New users can mention at most %(n)d people in a post. Take part a little longer and the limit goes up.")),
    ]
    for count, limit, message in checks:
        if count > limit:
            if level > 0:
                message = _("You can put at most %(n)d of these in one post.")
            raise InvalidInput(fields={"body": [message % {"n": limit}]})


def check_rate(*, user: User) -> None:
    """Suspended people cannot write; everyone else writes at most their trust level's posts per hour."""
    if perms.is_moderator(user):
        return
    until = ForumProfile.objects.filter(user=user, suspended_until__gt=timezone.now()).values_list(
        "suspended_until", flat=True).first()
    if until:
        raise PermissionDenied(_("Your forum account is suspended until %(until)s.") % {
            "until": until.strftime("%Y-%m-%d %H:%M UTC")})
    limit = settings.COMMUNITY_POSTS_PER_HOUR[trust_level_of(user)]
    since = timezone.now() - timedelta(hours=1)
    recent = Post.objects.filter(author=user, created_at__gte=since).order_by("created_at")
    if recent.count() >= limit:
        oldest = recent.values_list("created_at", flat=True).first() or timezone.now()
        retry = max(1, int((oldest + timedelta(hours=1) - timezone.now()).total_seconds()))
        raise RateLimited(
            _("You can write %(n)d posts an hour at your trust level. Try again in %(m)d minutes.")
            % {"n": limit, "m": max(1, retry // 60)},
            headers={"Retry-After": str(retry)},
        )
