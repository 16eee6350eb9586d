from django.contrib import admin

from guanxi.core.adminsite import RoleAdmin
from guanxi.core.permissions import Action
from guanxi.customers.models import Company, Customer, Product, Tag


@admin.register(Customer)
class CustomerAdmin(RoleAdmin):
    """Read-only here: changes go through the services so they are audited."""

    view_action = Action.CUSTOMER_VIEW

    list_display = ("display_name", "region", "owner", "source", "created_at")
    list_filter = ("source", "gender")
    search_fields = ("display_name",)
    list_select_related = ("owner",)


@admin.register(Product)
class ProductAdmin(RoleAdmin):
    view_action = Action.CUSTOMER_VIEW
    change_action = Action.USER_MANAGE
    list_display = ("sku", "name", "category", "price", "currency")
    search_fields = ("sku", "name")




class CatalogueAdmin(RoleAdmin):
    view_action = Action.CUSTOMER_VIEW
    change_action = Action.USER_MANAGE


admin.site.register(Tag, CatalogueAdmin)
admin.site.register(Company, CatalogueAdmin)
