import re

from django.apps import apps
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

# A scheme worth naming back to the client (`Basic`, `Token`, `JWT`): a short word. Anything else (a bare token
# with no scheme, binary noise) is not echoed.
_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9._-]{0,19}")
USE_BEARER = 'Use "Authorization: Bearer <token>"'
# Set on the user by the token's query: whether they manage a store (a bool; absent: not read yet).
MANAGES_STORES_ATTR = "_manages_stores"


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`, with DRF's token model.

    An `Authorization` header with another scheme (`Basic …`, `Token …`) authenticates no one, as before:
    session authentication may still sign the request in (the browsable API). The scheme is noted on the
    request; if no one signs in, the 401 `not_authenticated` says it is not accepted (see
    `salesproject.api.exceptions.ExceptionHandler`).
    """

    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() != self.keyword.lower().encode():
            request.rejected_auth_scheme = _scheme(parts)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        """DRF's, with whether the user manages a store (`sales.selectors.sale_scope`) read in the same query."""
        model = self.get_model()
        queryset = model.objects.select_related("user")
        if apps.is_installed("sales"):  # by name: the core imports no app (see pyproject's layers)
            membership = apps.get_model("sales", "StoreMembership")
            queryset = queryset.annotate(
                manages_stores=Exists(membership.objects.filter(user_id=OuterRef("user_id"), role="manager"))
            )
        try:
            token = queryset.get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if hasattr(token, "manages_stores"):
            setattr(token.user, MANAGES_STORES_ATTR, token.manages_stores)
        return (token.user, token)


def _scheme(parts: list[bytes]) -> str:
    """The scheme of a refused Authorization header, "" when it has none worth naming."""
    if len(parts) < 2 or not _SCHEME.fullmatch(parts[0]):
        return ""
    return parts[0].decode("ascii")


def wrong_scheme_detail(scheme: str) -> str:
    """The 401's detail when the request carried an Authorization header of another scheme."""
    if scheme:
        return f'{USE_BEARER}; the "{scheme}" scheme is not accepted.'
    return f"{USE_BEARER}; the Authorization header sent is not of that form."


def not_authenticated(request) -> exceptions.NotAuthenticated | None:
    """The humane 401 for a request that sent an Authorization header of another scheme, else None."""
    scheme = getattr(request, "rejected_auth_scheme", None)
    if scheme is None:
        return None
    return exceptions.NotAuthenticated(wrong_scheme_detail(scheme))
