"""Writes for the forum. Every rule Discourse proved lives here: trust limits, flags, watching, moderation.

One module per topic, re-exported here so callers keep one import (`from community import services`):

- `rendering`: @mentions and Markdown;
- `categories`: site-wide categories and one per app;
- `trust`: forum profiles, trust levels and the limits that come with them;
- `posts`: threads and posts (write, edit, delete, like, accept);
- `moderation`: pin, lock, hide, flags and their review, suspensions;
- `watches`: watching, reading and notifications.

Services raise `config.errors` classes: `InvalidInput` (400), `PermissionDenied` (403), `Conflict` (409) and
`RateLimited` (429, a `Throttled`).
"""
from .categories import SITE_CATEGORIES, category_for_app_ensure, on_app_published, site_categories_ensure
from .moderation import (
    flag_weight,
    post_flag,
    post_set_hidden,
    review_approve,
    review_delete,
    review_hide,
    review_suspend_author,
    thread_set_locked,
    thread_set_pinned,
    user_forum_suspend,
    user_forum_unsuspend,
)
from .posts import (
    BODY_MIN,
    TITLE_MIN,
    post_accept,
    post_create,
    post_delete,
    post_edit,
    post_like,
    post_unlike,
    thread_create,
    thread_unaccept,
)
from .rendering import mentioned_usernames, post_render
from .trust import RateLimited, forum_profile_ensure, forum_visit_record, trust_level_of, trust_level_recompute
from .watches import post_notify, thread_mark_read, watch_set

__all__ = [
    "BODY_MIN", "SITE_CATEGORIES", "TITLE_MIN", "RateLimited",
    "category_for_app_ensure", "flag_weight", "forum_profile_ensure", "forum_visit_record", "mentioned_usernames",
    "on_app_published",
    "post_accept", "post_create", "post_delete", "post_edit", "post_flag", "post_like", "post_notify", "post_render",
    "post_set_hidden", "post_unlike", "review_approve", "review_delete", "review_hide", "review_suspend_author",
    "site_categories_ensure", "thread_create", "thread_mark_read", "thread_set_locked", "thread_set_pinned",
    "thread_unaccept", "trust_level_of", "trust_level_recompute", "user_forum_suspend", "user_forum_unsuspend",
    "watch_set",
]
