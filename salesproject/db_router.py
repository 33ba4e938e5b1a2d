"""Reads that may go to a read replica, and the router that keeps every write on the primary.

When `DATABASE_REPLICA_URL` is set, settings add a `replica` database. Only
reads that opt in use it: the sales list and summary (and reports such as
exports) call `on_replica(queryset)`. Everything else reads the primary, so a
client always reads its own writes on the detail routes, the idempotency
store never answers from a lagging copy, and a row read to be locked or
changed comes from where it will be written. A read made inside a
transaction on the primary stays there too: it is part of that transaction.

Why opt-in rather than "all reads to the replica": replication lags, and a
sale created a moment ago must not answer 404 on its own detail page.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

REPLICA_DB_ALIAS = "replica"


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


def read_alias() -> str:
    """The database for a read that tolerates replication lag: the replica when there is one
    and the primary is not inside a transaction, else the primary."""
    if replica_configured() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return REPLICA_DB_ALIAS
    return DEFAULT_DB_ALIAS


def on_replica(queryset: QuerySet) -> QuerySet:
    """The queryset read from `read_alias()`; its prefetches and count follow it there."""
    return queryset.using(read_alias())


class PrimaryReplicaRouter:
    """Writes always go to the primary; reads go where the queryset says (the primary unless it opted in).

    Rows read from the replica relate to rows on the primary (it is a copy of
    the same data), so relations between the two are allowed; migrations run
    where `migrate --database` points, the primary by default.
    """

    def db_for_read(self, model, **hints):
        return None  # the queryset's own `using()`, or the database of the instance it starts from

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        databases = {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return None
