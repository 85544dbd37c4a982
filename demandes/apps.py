from django.apps import AppConfig


class DemandesConfig(AppConfig):
    name = "demandes"
    verbose_name = "Demandes"

    def ready(self):
        from . import checks  # noqa: F401 (registers the deploy check)
