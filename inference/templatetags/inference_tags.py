"""Template tags for the "Try it" panel on the app page (the page's view belongs to the marketplace)."""
from django import template
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.templatetags.mm import CURRENCY_SYMBOLS
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
EVALUATION_NAMES = {
    "fresh": gettext_lazy("hand-written examples never used for tuning"),
    "handwritten": gettext_lazy("a hand-written test set kept out of training"),
}
CANDIDATES = ("Refund policy: you can return any item within 30 days for a full refund.\n"
              "Shipping times: orders arrive in 3 to 5 working days.\n"
              "Password reset: use the 'Forgot password' link on the login page.\n"
              "Opening hours: our support team answers Monday to Friday, 9am to 6pm.")


def app_examples(*, card: dict, task: str) -> list[str]:
    """This app's own examples: its model card's `examples`, else the input it was validated with."""
    examples = [text for text in card.get("examples") or [] if isinstance(text, str) and text.strip()]
    if examples:
        return examples[:6]
    example_text = (card.get("example_input") or {}).get("text")
    if isinstance(example_text, str) and example_text.strip():
        return [example_text]
    return EXAMPLES.get(task, [])


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
    card = (version.model_card or {}) if version else {}
    return {
        "can_run": can_run, "reason": reason, "version": version, "task": task,
        "examples": app_examples(card=card, task=task),
        "candidates": "\n".join(card["candidates"]) if card.get("candidates") else CANDIDATES,
        "evaluation": [{**row, "name": EVALUATION_NAMES.get(row.get("set"), row.get("set"))}
                       for row in card.get("evaluation") or [] if isinstance(row, dict)],
        "labels": (version.metrics or {}).get("labels", []) if version else [],
        "paid": app.pricing_model != "free",
        "i18n": {
            "runCosts": _("This run costs %(price)s"), "runFree": _("This run is free"),
            "currencySymbol": CURRENCY_SYMBOLS.get(settings.CURRENCY.lower(), ""),
            "currencyCode": settings.CURRENCY.upper(),
            "queued": _("Queued"), "starting": _("Loading model"), "processing": _("Running"), "succeeded": _("Done"),
            "failed": _("Failed"), "canceled": _("Canceled"), "sending": _("Sending"), "quoting": _("Getting a quote"),
            "similarity": _("Similarity to your question"), "top": _("Most likely"), "price": _("price"),
            "free": _("free"),
            "queue": _("queue"), "load": _("load"), "predict": _("model"), "batch": _("batch"),
            "needImage": _("Draw a sample or choose an image first."), "network": _("Network error; try again."),
        },
    }
