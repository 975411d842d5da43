"""Account pages. Views parse input, call one service or selector, and render."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import api_keys_for, notifications_for


@login_required
def settings_page(request):
    return render(request, "accounts/settings.html", {"api_keys": api_keys_for(user=request.user)})


@login_required
def notifications(request):
    return render(request, "accounts/notifications.html",
                  {"notifications": notifications_for(user=request.user)[:100]})
