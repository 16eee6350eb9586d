from django.contrib import admin

from guanxi.customers.models import Company, Customer, Product, Tag


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Read-only here: changes go through the services so they are audited."""

    list_display = ("display_name", "region", "owner", "source", "created_at")
    list_filter = ("source", "gender")
    search_fields = ("display_name",)
    list_select_related = ("owner",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "price", "currency")
    search_fields = ("sku", "name")


admin.site.register(Tag)
admin.site.register(Company)
