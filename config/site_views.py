"""Small site-wide views that belong to no app."""
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the static icon (no 404 in the log)."""
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))
