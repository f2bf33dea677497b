"""Server-to-server authentication: `Authorization: Bearer API_KEY`, a key per site."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from consent.services.sites import authenticate_api_key


def bearer_token(request) -> str | None:
    """The token of a well-formed `Authorization: Bearer API_KEY` header, else None."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) == 2 and parts[0] == ApiKeyAuthentication.keyword and parts[1].isascii():
        return parts[1]
    return None


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].decode("latin-1") != self.keyword or len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the API key as 'Authorization: Bearer API_KEY'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from None
        owner = authenticate_api_key(token)
        if owner is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return (None, owner)

    def authenticate_header(self, request):
        return self.keyword


class HasSiteApiKey(BasePermission):
    """The request carries a key of the very site named in the URL."""

    message = "This API key belongs to another site."

    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated("An API key is needed: 'Authorization: Bearer API_KEY'.")
        return request.auth.site_id == view.site.id
