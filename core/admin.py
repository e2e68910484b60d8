from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records and audit trails are written by services only, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
