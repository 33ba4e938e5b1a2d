"""Stores and their members (records.md, "Stores, teams and devices"): create, change, delete; add, change and
remove a membership; and which store a new sale belongs to.

A store that sales name cannot be deleted (`InUse`): past sales keep pointing at it.
"""

from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from sales.models import Store, StoreMembership, StoreRole
from salesproject.errors import InUse, NotFound, ValidationError

STORE_FIELDS = ("code", "name", "warehouse", "channel", "address")


def _save(store: Store) -> Store:
    store.full_clean()
    store.save()
    return store


@transaction.atomic
def store_create(*, code: str, name: str, warehouse, **fields: Any) -> Store:
    store = Store(code=code, name=name, warehouse=warehouse)
    for field in STORE_FIELDS:
        if field in fields:
            setattr(store, field, fields[field] if field != "address" else fields[field] or {})
    return _save(store)


@transaction.atomic
def store_update(*, store: Store, data: dict[str, Any]) -> Store:
    for field in STORE_FIELDS:
        if field in data:
            setattr(store, field, data[field] if field != "address" else data[field] or {})
    return _save(store)


def store_delete(*, store: Store) -> None:
    try:
        with transaction.atomic():
            store.delete()
    except (ProtectedError, RestrictedError):
        raise InUse("This store is used by sales and cannot be deleted.") from None


@transaction.atomic
def store_member_set(*, store: Store, user, role: str = StoreRole.SELLER) -> tuple[StoreMembership, bool]:
    """Add `user` to `store` with `role`, or change the role they have there; True when added."""
    return StoreMembership.objects.update_or_create(store=store, user=user, defaults={"role": role})


@transaction.atomic
def store_member_remove(*, store: Store, user_id: int) -> None:
    """Take a user out of a store; a user who is not a member is a 404 to the caller (nothing removed)."""
    deleted, _ = StoreMembership.objects.filter(store=store, user_id=user_id).delete()
    if not deleted:
        raise NotFound(f"User {user_id} is not a member of store {store.code}.")


def sale_store(*, seller, store: Store | None, user=None) -> Store | None:
    """The store a new sale belongs to: the one given, else the seller's only store (one membership), else none.

    A store the seller is not a member of is a 400 on `store`, unless the one acting (`user`, default the
    seller) is staff: staff may file a sale under any store.
    """
    actor = user or seller
    if store is not None:
        if not getattr(actor, "is_staff", False) and not StoreMembership.objects.filter(
            store=store, user_id=seller.pk
        ).exists():
            raise ValidationError(
                f"The seller is not a member of store {store.code}.", code="permission", attr="store"
            )
        return store
    if seller is None or seller.pk is None:
        return None
    only = list(StoreMembership.objects.filter(user_id=seller.pk).select_related("store__warehouse")[:2])
    return only[0].store if len(only) == 1 else None
