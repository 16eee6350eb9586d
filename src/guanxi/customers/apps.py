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
