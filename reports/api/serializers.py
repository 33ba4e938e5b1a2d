"""The report's shapes, for the schema (the view writes the same dictionaries, `reports.api.representation`)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.grouping import GROUP_BY_CHOICES, GroupBy

MONEY_HELP = "In the base currency, each sale converted with its own exchange rate."


class ReportQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, default=GroupBy.DAY)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class ReportKeyField(serializers.Field):
    """An id (product, variant, seller, customer), a code (channel, product group, currency), a date
    (`2026-03-05` day, the Monday of a week, `2026-03` month), `order` or null (no channel, …)."""

    def to_representation(self, value):
        return value


class ReportTotalsSerializer(serializers.Serializer):
    sales = serializers.IntegerField(help_text="Sales that make revenue (confirmed, in delivery, completed).")
    units = serializers.IntegerField(help_text="Units sold minus cancelled minus returned.")
    revenue = serializers.CharField(help_text=f"Net totals (returns out, tax and shipping in). {MONEY_HELP}")
    discount = serializers.CharField(help_text=f"Discounts as charged. {MONEY_HELP}")
    tax = serializers.CharField(help_text=f"Tax as charged. {MONEY_HELP}")
    cost = serializers.CharField(allow_null=True, help_text="Cost of the units kept; null for non-staff.")
    profit = serializers.CharField(
        allow_null=True, help_text="Lines' net without tax after returns minus cost; null for non-staff."
    )
    margin = serializers.CharField(
        allow_null=True, help_text="profit as a percent of the lines' net without tax; null for non-staff or when 0."
    )


class ReportRowSerializer(ReportTotalsSerializer):
    key = ReportKeyField()
    label = serializers.CharField()


class SalesReportSerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES)
    base_currency = serializers.CharField()
    rows = ReportRowSerializer(many=True)
    totals = ReportTotalsSerializer()
