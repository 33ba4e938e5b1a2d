"""API-wide rate limits (DRF throttles): per user, whatever the token or session, and per anonymous address.

Rates: `API_RATE_LIMIT_USER` (default 1200/min) and `API_RATE_LIMIT_ANON` (60/min). The counters live in the
cache `API_THROTTLE_CACHE` names, by default the shared database cache, so every worker process and every
instance counts against one limit. Over it: 429 `throttled` with `Retry-After` (salesproject.api.exceptions).
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SharedCache:
    @property
    def cache(self):
        return caches[settings.API_THROTTLE_CACHE]


class UserThrottle(_SharedCache, UserRateThrottle):
    """Scope `user`: a signed-in user's requests (an anonymous one's, by address, at the same rate)."""


class AnonThrottle(_SharedCache, AnonRateThrottle):
    """Scope `anon`: the requests of one address nobody signed in from."""
