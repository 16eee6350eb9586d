from django.contrib import admin

from guanxi.accounts.permissions import AccountAction
from guanxi.core.adminsite import RoleAdmin
from guanxi.customers import services
from guanxi.customers.models import Company, Customer, Product, Tag
from guanxi.customers.permissions import CustomerAction


@admin.register(Customer)
class CustomerAdmin(RoleAdmin):
    """Read-only here: changes go through the services so they are audited."""

    view_action = CustomerAction.CUSTOMER_VIEW

    list_display = ("display_name", "region", "owner", "source", "created_at")
    list_filter = ("source", "gender")
    search_fields = ("display_name",)
    list_select_related = ("owner",)


@admin.register(Product)
class ProductAdmin(RoleAdmin):
    """Products are written through product_upsert (audited), the same path as the API."""

    view_action = CustomerAction.CUSTOMER_VIEW
    change_action = AccountAction.USER_MANAGE

    def save_model(self, request, obj, form, change):
        saved = services.product_upsert(actor=request.user, sku=obj.sku, name=obj.name,
                                        price=obj.price, category=obj.category,
                                        currency=obj.currency)
        obj.pk = saved.pk

    def get_readonly_fields(self, request, obj=None):
        return ("sku",) if obj is not None else ()  # the key of the upsert

    def has_delete_permission(self, request, obj=None):
        return False  # order lines keep their product; retire one by renaming it
    list_display = ("sku", "name", "category", "price", "currency")
    search_fields = ("sku", "name")




class CatalogueAdmin(RoleAdmin):
    """Read-only: tags and companies change through the customer services."""

    view_action = CustomerAction.CUSTOMER_VIEW


admin.site.register(Tag, CatalogueAdmin)
admin.site.register(Company, CatalogueAdmin)
