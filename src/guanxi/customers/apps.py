from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from guanxi.customers.events import register_customer_kinds
        from guanxi.customers.merging import register_customer_rules
        from guanxi.customers.permissions import register_customers_actions
        from guanxi.customers.shell import register_customers_shell

        register_customers_actions()
        register_customers_shell()
        register_customer_kinds()
        register_customer_rules()
        from guanxi.customers.privacy import register_customers_personal_data

        register_customers_personal_data()
        from guanxi.core.automation import ActionType, ConfigField, register_action_types
        from guanxi.core.lazy import lazy
        from guanxi.customers.permissions import CustomerAction

        tag = ConfigField("tag", _("Tag"))
        register_action_types(
            ActionType("customers.tag_add", _("Add a tag"), "customers",
                       lazy("guanxi.customers.automation:tag_add"),
                       CustomerAction.TAG_ASSIGN, (tag,)),
            ActionType("customers.tag_remove", _("Remove a tag"), "customers",
                       lazy("guanxi.customers.automation:tag_remove"),
                       CustomerAction.TAG_ASSIGN, (tag,)))
        from guanxi.core.work import register_handler
        from guanxi.customers.extensions import BULK_QUEUE, BulkAction, register_bulk_action

        bulk = "guanxi.customers.services.bulk"
        register_handler(BULK_QUEUE, lazy(f"{bulk}:bulk_work"), atomic=False,
                         lease_s=120, max_attempts=3)
        register_bulk_action(BulkAction("tag_add", _("Add tag"), CustomerAction.TAG_ASSIGN,
                                        lazy(f"{bulk}:tag_add_run"), lazy(f"{bulk}:check_tag"),
                                        value="tag", order=10))
        register_bulk_action(BulkAction("tag_remove", _("Remove tag"),
                                        CustomerAction.TAG_ASSIGN, lazy(f"{bulk}:tag_remove_run"),
                                        lazy(f"{bulk}:check_tag"), value="tag", order=20))
        register_bulk_action(BulkAction("owner", _("Assign owner"),
                                        CustomerAction.CUSTOMER_CHANGE, lazy(f"{bulk}:owner_run"),
                                        lazy(f"{bulk}:check_owner"), value="owner", order=30))
