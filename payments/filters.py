import django_filters

from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from payments.selectors import payment_assigned, payment_on_sale
from salesproject.filters import DateBoundFilter, IntegerFilter, MetadataFilter, StrictBooleanFilter
from salesproject.ordering import OrderingFilter


class PaymentFilter(django_filters.FilterSet):
    # A payment spread over several sales is on each of them (its allocations), not only on its `sale`.
    sale = IntegerFilter(method="filter_sale")
    method = django_filters.MultipleChoiceFilter(choices=PaymentMethod.choices)
    status = django_filters.MultipleChoiceFilter(choices=PaymentState.choices)
    kind = django_filters.ChoiceFilter(choices=PaymentKind.choices)
    assigned = StrictBooleanFilter(method="filter_assigned")
    reference = django_filters.CharFilter(field_name="reference")
    received_after = DateBoundFilter(field_name="received_at", upper=False)
    received_before = DateBoundFilter(field_name="received_at", upper=True)
    created_after = DateBoundFilter(field_name="created_at", upper=False)
    created_before = DateBoundFilter(field_name="created_at", upper=True)
    metadata = MetadataFilter()
    ordering = OrderingFilter(fields=("id", "amount", "received_at", "created_at"))

    class Meta:
        model = Payment
        fields: list[str] = []

    def filter_sale(self, queryset, name, value):
        return queryset if value is None else queryset.filter(payment_on_sale(sale_id=value))

    def filter_assigned(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(payment_assigned()) if value else queryset.exclude(payment_assigned())
