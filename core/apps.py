from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The shared helpers at the bottom of the layers, and the one history of the changes people
    make to the fund's objects (core.history)."""

    name = "core"
    verbose_name = _("historique des modifications")
