"""`?ordering=` on every list: the orders a list offers, and a 400 naming them for anything else.

Every top-level list has a FilterSet with an `OrderingFilter` (comma-separated
names, `-` for descending); a name it does not offer is 400 `invalid_choice` on
`ordering`, listing the valid ones. Lists in a fixed order (those under one sale)
refuse the parameter with `refuse_ordering`. Only a list's own columns are offered,
so the keyset cursor (`?cursor=`) pages every order.
"""

import django_filters
from rest_framework.exceptions import ErrorDetail, ValidationError

ORDERING_PARAM = "ordering"


class OrderingFilter(django_filters.OrderingFilter):
    """django-filter's ordering, whose `invalid_choice` error lists the valid choices."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = ", ".join(value for value, _label in self.extra["choices"])
        self.extra.setdefault(
            "error_messages", {"invalid_choice": f"Unknown ordering %(value)s; one of: {choices} (comma-separated)."}
        )
        if not self.extra.get("help_text"):
            self.extra["help_text"] = "Comma-separated; `-` for descending."


# The orders every list of reference data (named by code) offers.
REFERENCE_ORDERING = ("id", "code", "name", "created_at")


def ordering_filterset(model, fields=REFERENCE_ORDERING) -> type[django_filters.FilterSet]:
    """A FilterSet for a list that filters nothing and offers these orders (reference data)."""
    meta = type("Meta", (), {"model": model, "fields": []})
    return type(
        f"{model.__name__}Filter",
        (django_filters.FilterSet,),
        {"ordering": OrderingFilter(fields=fields), "Meta": meta},
    )


def refuse_ordering(request, *, order: str) -> None:
    """A list in a fixed order (`order`, e.g. "oldest first"): any `ordering` is a 400."""
    if request.query_params.get(ORDERING_PARAM):
        raise ValidationError(
            {
                ORDERING_PARAM: [
                    ErrorDetail(
                        f"This list comes in a fixed order ({order}); it takes no ordering.", code="invalid_choice"
                    )
                ]
            }
        )
