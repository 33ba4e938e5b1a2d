from django.urls import path

from reports.api.views import SalesReportView

urlpatterns = [path("reports/sales/", SalesReportView.as_view(), name="report-sales")]
