"""Template tags for the "Try it" panel on the app page (the page's view belongs to the marketplace)."""
from django import template
from django.utils.translation import gettext as _

from marketplace.models import AppStatus, VersionStatus
from marketplace.services import user_has_app

register = template.Library()

EXAMPLES = {
    "text-classification": [
        "Shares jumped 14% after the company raised its full-year guidance.",
        "The lender booked a $300 million impairment and suspended its dividend.",
        "The annual general meeting will be held on May 14 at the head office.",
    ],
    "feature-extraction": ["How do I get my money back?"],
    "text-generation": ["Blacksmith: Ah, a traveller!", "Innkeeper: Welcome, friend!", "Guard: Halt!"],
}
CANDIDATES = ("Refund policy: you can return any item within 30 days for a full refund.\n"
              "Shipping times: orders arrive in 3 to 5 working days.\n"
              "Password reset: use the 'Forgot password' link on the login page.\n"
              "Opening hours: our support team answers Monday to Friday, 9am to 6pm.")


@register.simple_tag
def try_it_context(app, user) -> dict:
    """What the panel needs: the runnable version, whether this user may run it, and why not."""
    version = (app.versions.filter(status=VersionStatus.READY).order_by("-validated_at", "-created_at").first()
               if app.pk else None)
    pending = app.versions.filter(status__in=[VersionStatus.UPLOADED, VersionStatus.VALIDATING]).exists()
    reason = ""
    can_run = False
    if version is None:
        reason = _("The model is being checked; try again in a minute.") if pending else _(
            "This app has no model ready to run yet.")
    elif not user.is_authenticated:
        reason = _("Log in to try this app.")
    elif app.owner_id == user.pk or (app.status == AppStatus.PUBLISHED and user_has_app(user=user, app=app)):
        can_run = True
    else:
        reason = _("Add this app to your library to try it.")
    task = version.task if version else ""
    return {
        "can_run": can_run, "reason": reason, "version": version, "task": task,
        "examples": EXAMPLES.get(task, []), "candidates": CANDIDATES,
        "labels": (version.metrics or {}).get("labels", []) if version else [],
        "i18n": {
            "queued": _("Queued"), "starting": _("Starting"), "processing": _("Running"), "succeeded": _("Done"),
            "failed": _("Failed"), "canceled": _("Canceled"), "sending": _("Sending"), "quoting": _("Getting a quote"),
            "similarity": _("Similarity to your question"), "top": _("Most likely"), "price": _("price"),
            "free": _("free"),
            "queue": _("queue"), "load": _("load"), "predict": _("model"), "batch": _("batch"),
            "needImage": _("Draw a sample or choose an image first."), "network": _("Network error; try again."),
        },
    }
