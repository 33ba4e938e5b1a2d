"""Routes of this dialect (filled in by its module)."""

urlpatterns: list = []
