from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=&page_size=` (alias `limit`); page sizes above the maximum are capped."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        for param in (self.page_size_query_param, "limit"):
            raw = request.query_params.get(param)
            if raw is None:
                continue
            try:
                size = int(raw)
            except ValueError:
                return self.page_size
            return min(max(size, 1), self.max_page_size)
        return self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        parameters.append(
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "Alias of page_size.",
                "schema": {"type": "integer"},
            }
        )
        return parameters
