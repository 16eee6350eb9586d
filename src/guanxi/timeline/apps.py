from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimelineConfig(AppConfig):
    name = "guanxi.timeline"
    label = "timeline"
    verbose_name = _("Timeline")

    def ready(self) -> None:
        from guanxi.core.automation import ConfigField, TriggerType, register_trigger_types
        from guanxi.timeline.kinds import kind_choices, register_core_kinds

        register_core_kinds()
        register_trigger_types(TriggerType(
            "timeline.event", _("An event on the timeline"), "timeline",
            (ConfigField("kind", _("Event kind"), choices=kind_choices),
             ConfigField("conditions", _("Conditions on the event's data"), "list",
                         required=False)),
            help=_("Starts when an event of this kind is appended to a customer's timeline.")))
