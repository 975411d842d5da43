"""`Authorization: Bearer mm_<prefix>_<secret>` for the API."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .selectors import api_key_get_by_raw
from .services import api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts:  # only whitespace, NBSP or NEL: a broken header, not an anonymous request
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        api_key = api_key_get_by_raw(raw_key=parts[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is disabled."))
        api_key_touch(api_key=api_key)
        return (api_key.user, api_key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "mm_<prefix>_<secret>"}
