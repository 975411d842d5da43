"""Forum rules, Discourse-style defaults; override any key with `settings.COMMUNITY = {...}`."""
from django.conf import settings

DEFAULTS: dict = {
    # Per trust level (0 new, 1 basic, 2 member): limits per post and per hour.
    "MAX_LINKS": {0: 2, 1: 10, 2: 50},
    "MAX_MENTIONS": {0: 2, 1: 10, 2: 30},
    "MAX_IMAGES": {0: 0, 1: 10, 2: 50},
    "POSTS_PER_HOUR": {0: 10, 1: 30, 2: 120},
    "FLAGS_PER_DAY": {0: 5, 1: 20, 2: 50},
    # Promotion requirements (all must hold).
    "PROMOTE": {
        1: {"days_visited": 2, "posts_read": 20, "likes_received": 0},
        2: {"days_visited": 10, "posts_read": 100, "likes_received": 5},
    },
    # A flag weighs 1 + the flagger's trust level; moderators' flags hide at once.
    "HIDE_THRESHOLD": 5,
    "POSTS_PER_PAGE": 20,
    "THREADS_PER_PAGE": 25,
    "SUSPEND_DAYS": 7,
}


def rule(name: str):
    return getattr(settings, "COMMUNITY", {}).get(name, DEFAULTS[name])
