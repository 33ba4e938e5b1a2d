"""API-wide rate limits (DRF throttles): per user, whatever the token or session, and per anonymous address.

Rates: `API_RATE_LIMIT_USER` (default 1200/min) and `API_RATE_LIMIT_ANON` (60/min). Over it: 429 `throttled`
with `Retry-After` (salesproject.api.exceptions).

The counters are rows of `RateCounter` in the shared database, so every worker process and every app server
counts against one limit. One statement per request counts the hit and reads the count back (DRF's own throttles
keep each client's request times as a pickled list in a cache: six statements per request on the database cache,
and a value that grows with the limit). The window slides the way Cloudflare's and nginx's counters do: the
hits of the current fixed window plus the previous window's, weighted by how much of it still overlaps the last
`period` seconds. A refused request counts too, so a client that keeps knocking stays limited.

Keyed POSTs count before their transaction begins (`IdempotentMixin`): the counter's row is locked for one
statement, never for the whole sale, so requests of one user (a POS fleet on one token) do not queue on it.
"""

import math
import time

from django.db import connections, router
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from salesproject.models import RateCounter

_COUNT = """
INSERT INTO {table} (key, slot, hits, previous_hits) VALUES (%s, %s, 1, 0)
ON CONFLICT (key) DO UPDATE SET
    previous_hits = CASE
        WHEN {table}.slot = excluded.slot THEN {table}.previous_hits
        WHEN {table}.slot = excluded.slot - 1 THEN {table}.hits
        ELSE 0 END,
    hits = CASE WHEN {table}.slot = excluded.slot THEN {table}.hits + 1 ELSE 1 END,
    slot = excluded.slot
RETURNING hits, previous_hits
"""


def rate_count(key: str, *, period: int, now: float) -> tuple[int, int]:
    """Count one hit for `key` in the window of `period` seconds holding `now`: (hits in it, hits in the one
    before), this hit included."""
    connection = connections[router.db_for_write(RateCounter)]
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT.format(table=table), [key, int(now // period)])
        hits, previous = cursor.fetchone()
    return hits, previous


class _CountedThrottle:
    """`SimpleRateThrottle` counted in `RateCounter` (see the module's docstring)."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        period = self.duration
        now = self.timer()
        self.hits, self.previous = rate_count(self.key, period=period, now=now)
        self.elapsed = (now % period) / period  # the share of the current window gone by
        return self.previous * (1 - self.elapsed) + self.hits <= self.num_requests

    def wait(self) -> float:
        """Seconds until a request would be allowed again."""
        if self.hits >= self.num_requests or not self.previous:
            share = 1 - self.elapsed  # the current window alone is full: its end
        else:  # the previous window's weight must fall until the estimate is within the limit
            share = (1 - (self.num_requests - self.hits) / self.previous) - self.elapsed
        return max(1, math.ceil(share * self.duration))


class UserThrottle(_CountedThrottle, UserRateThrottle):
    """Scope `user`: a signed-in user's requests (an anonymous one's, by address, at the same rate)."""


class AnonThrottle(_CountedThrottle, AnonRateThrottle):
    """Scope `anon`: the requests of one address nobody signed in from."""


def rate_counters_prune(*, now: float | None = None) -> int:
    """Delete the counters of clients not seen since before the previous window: their next request starts them
    afresh anyway (a row per user and per anonymous address, so without this the table only grows)."""
    now = time.time() if now is None else now
    deleted = 0
    for throttle in (UserThrottle(), AnonThrottle()):
        if throttle.rate is None:
            continue
        prefix = throttle.cache_format % {"scope": throttle.scope, "ident": ""}
        stale = RateCounter.objects.filter(key__startswith=prefix, slot__lt=int(now // throttle.duration) - 1)
        deleted += stale.delete()[0]
    return deleted
