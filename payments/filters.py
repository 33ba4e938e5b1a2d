import django_filters

from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from salesproject.filters import DateBoundFilter, IntegerFilter, StrictBooleanFilter
from salesproject.ordering import OrderingFilter


class PaymentFilter(django_filters.FilterSet):
    sale = IntegerFilter(field_name="sale_id")
    method = django_filters.MultipleChoiceFilter(choices=PaymentMethod.choices)
    status = django_filters.MultipleChoiceFilter(choices=PaymentState.choices)
    kind = django_filters.ChoiceFilter(choices=PaymentKind.choices)
    assigned = StrictBooleanFilter(field_name="sale", lookup_expr="isnull", exclude=True)
    reference = django_filters.CharFilter(field_name="reference")
    received_after = DateBoundFilter(field_name="received_at", upper=False)
    received_before = DateBoundFilter(field_name="received_at", upper=True)
    created_after = DateBoundFilter(field_name="created_at", upper=False)
    created_before = DateBoundFilter(field_name="created_at", upper=True)
    ordering = OrderingFilter(fields=("id", "amount", "received_at", "created_at"))

    class Meta:
        model = Payment
        fields: list[str] = []
