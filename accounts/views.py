"""Account pages beyond allauth's. Views parse input, call one service or selector, and render."""
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.web_errors import WebError, form_add_error

from .forms import ApiKeyForm, BecomeDeveloperForm, ProfileForm
from .models import ApiKey, User
from .org_permissions import org_for
from .selectors import api_key_get_for, api_keys_for, notifications_for, user_get_public
from .services import (
    api_key_create,
    api_key_revoke,
    notifications_mark_read,
    user_become_developer,
    user_update_profile,
)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                user_update_profile(user=user, **form.cleaned_data)
            except WebError as error:
                user.refresh_from_db()
                form_add_error(form, error)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("accounts:settings")
    else:
        form = ProfileForm(initial={"username": user.username, "bio": user.bio, "website": user.website})
    return render(request, "accounts/settings.html", {"form": form, "section": "profile"},
                  status=400 if form.errors else 200)


@login_required
def become_developer(request: HttpRequest) -> HttpResponse:
    form = BecomeDeveloperForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user_become_developer(user=request.user, accept_terms=form.cleaned_data["accept_terms"])
        except WebError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _("Welcome, developer! Create your first app."))
            return redirect("marketplace:console")
    return render(request, "accounts/become_developer.html", {"form": form, "section": "developer"},
                  status=400 if form.errors else 200)


def _with_rates(keys: Iterable[ApiKey]) -> list[ApiKey]:
    """Each key with its rate limit and the requests counted in the current window (from the throttle)."""
    from .throttling import api_key_rate_and_usage

    keys = list(keys)
    for key in keys:
        key.rate, key.rate_used = api_key_rate_and_usage(key)  # type: ignore[attr-defined]
    return keys


NEW_KEY_SESSION = "new_api_key"


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List and create keys: post/redirect/get, so a refresh never makes a second key.

    The new secret travels to the next GET in the session and is popped there: shown once, stored only as a hash.
    """
    created = None
    if request.method == "POST":
        form = ApiKeyForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                slug = form.cleaned_data.get("org")
                new = api_key_create(user=request.user, name=form.cleaned_data["name"],
                                     scopes=form.cleaned_data["scopes"],
                                     spend_cap=form.cleaned_data.get("spend_cap"),
                                     org=org_for(request.user, slug) if slug else None)
            except WebError as error:
                form_add_error(form, error)
            else:
                request.session[NEW_KEY_SESSION] = {"name": new.api_key.name, "raw_key": new.raw_key}
                return redirect("accounts:api_keys")
    else:
        form = ApiKeyForm(user=request.user, initial={"org": request.session.get("current_org", "")})
        shown = request.session.pop(NEW_KEY_SESSION, None)
        if shown:
            created = {"api_key": {"name": shown["name"]}, "raw_key": shown["raw_key"]}
    status = 400 if form.errors else 200
    return render(request, "accounts/api_keys.html", {
        "form": form, "created": created, "api_keys": _with_rates(api_keys_for(user=request.user)), "section": "keys",
    }, status=status)


@require_POST
@login_required
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        api_key = api_key_get_for(user=request.user, key_id=key_id)
    except ApiKey.DoesNotExist:
        raise Http404 from None
    api_key_revoke(api_key=api_key)
    messages.success(request, _("Key “%(name)s” revoked.") % {"name": api_key.name})
    return redirect("accounts:api_keys")


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/notifications.html",
                  {"notifications": notifications_for(user=request.user)[:100]})


@require_POST
@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    return redirect("accounts:notifications")


# What other apps show on a public profile: each provider returns template context for the person's page
# (marketplace adds the developer's published apps). Registered in the providers' AppConfig.ready(), so accounts,
# the bottom layer, imports none of them.
ProfileContextProvider = Callable[[User], dict[str, Any]]
_profile_context_providers: list[ProfileContextProvider] = []


def profile_context_register(provider: ProfileContextProvider) -> ProfileContextProvider:
    if provider not in _profile_context_providers:
        _profile_context_providers.append(provider)
    return provider


def profile(request: HttpRequest, username: str) -> HttpResponse:
    try:
        person = user_get_public(username=username)
    except User.DoesNotExist:
        raise Http404 from None
    context: dict[str, Any] = {"person": person}
    for provider in _profile_context_providers:
        context.update(provider(person))
    return render(request, "accounts/profile.html", context)
