"""The app page's API tab: snippets for the runnable version, the caller's key prefix and the current quote."""
from django import template

from accounts.models import ApiKey
from marketplace.models import PricingModel, VersionStatus

from ..snippets import build_snippets

register = template.Library()


@register.inclusion_tag("inference/_api_tab.html", takes_context=True)
def api_tab(context, app):
    request = context["request"]
    user = request.user
    version = app.versions.filter(status=VersionStatus.READY).order_by("-validated_at", "-created_at").first()
    key = ApiKey.objects.active().filter(user=user).first() if user.is_authenticated else None
    key_hint = f"mm_{key.prefix}_…" if key else ""
    paid = app.pricing_model != PricingModel.FREE
    cap = None
    if paid:
        from marketplace.selectors import app_current_price

        cap = app.max_price if app.max_price and app.max_price > 0 else app_current_price(app=app)
    snippets = []
    if version is not None:
        example = getattr(app, "example_input", None)
        snippets = build_snippets(base_url=request.build_absolute_uri("/"), slug=app.slug, task=version.task,
                                  example=example if isinstance(example, dict) and example else None,
                                  max_price=cap, key_hint=key_hint)
    return {"app": app, "version": version, "snippets": snippets, "key": key, "paid": paid, "cap": cap,
            "price": context.get("price"), "request": request, "user": user}
