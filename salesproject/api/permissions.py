from rest_framework import permissions


class IsStaffOrReadOnly(permissions.BasePermission):
    """Everyone signed in reads; only staff write (catalogue, stock and reference data)."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
