from django.conf import settings


def site_header(request) -> dict:
    """What every page's header needs: the unread notification count (one query, only when logged in)."""
    context = {"SITE_URL": settings.SITE_URL}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from .selectors import notifications_unread_count

        context["unread_notifications"] = lambda: notifications_unread_count(user=user)
        # The org switcher (issue 14): the user's orgs, looked up only when the menu is drawn.
        from .org_selectors import orgs_for

        context["user_orgs"] = lambda: list(orgs_for(user=user))
        context["current_org"] = request.session.get("current_org", "") if hasattr(request, "session") else ""
    return context
