"""`?format=csv`: the report as CSV, one line per row and a last line of totals."""

import csv
import io

from rest_framework.renderers import BaseRenderer

from reports.api.representation import COLUMNS
from salesproject.api.renderers import JSONRenderer


class ReportCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if not isinstance(data, dict) or "rows" not in data:
            # An error body: JSON like every other error, whatever was asked for.
            if response is not None:
                response["Content-Type"] = "application/json"
            return JSONRenderer().render(data)
        if response is not None:
            response["Content-Disposition"] = f'attachment; filename="sales-report-{data["group_by"]}.csv"'
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in data["rows"]:
            writer.writerow(_cell(row[name]) for name in COLUMNS)
        totals = {"key": "", "label": "Total", **data["totals"]}
        writer.writerow(_cell(totals[name]) for name in COLUMNS)
        return stream.getvalue().encode(self.charset)


def _cell(value) -> str:
    return "" if value is None else str(value)
