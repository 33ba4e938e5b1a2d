"""`GET /reports/sales/`: the sales figures grouped, over the same filters as `/sales/`."""

from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from reports import selectors
from reports.api.renderers import ReportCSVRenderer
from reports.api.representation import report_dict
from reports.api.serializers import ReportQuerySerializer, SalesReportSerializer
from reports.grouping import GROUP_BY_CHOICES
from sales.filters import SaleFilter
from sales.models import Sale
from sales.selectors import sale_scope
from salesproject.api.renderers import JSONRenderer


class SalesReportView(GenericAPIView):
    filterset_class = SaleFilter
    filter_backends = [DjangoFilterBackend]
    renderer_classes = [JSONRenderer, ReportCSVRenderer]
    pagination_class = None
    queryset = Sale.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sale.objects.none()
        return sale_scope(user=self.request.user, replica=True)

    @extend_schema(
        summary="Sales figures grouped by time, product, seller, channel, store, customer or currency",
        parameters=[
            OpenApiParameter("group_by", enum=list(GROUP_BY_CHOICES), default="day"),
            OpenApiParameter("format", enum=["json", "csv"], description="`csv`: the same report as CSV."),
        ],
        responses={
            (200, "application/json"): SalesReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The rows, then a Total line."),
        },
        filters=True,
    )
    def get(self, request, *args, **kwargs):
        """Revenue, units, discount, tax, cost, profit and margin of the matching sales that make revenue
        (confirmed, in delivery, completed), in the base currency; sellers see their own sales and no cost."""
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filterset = DjangoFilterBackend().get_filterset(request, self.get_queryset(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        report = selectors.sales_report(
            queryset=filterset.qs, user=request.user, group_by=query.validated_data["group_by"]
        )
        return Response(report_dict(report))
