from django.apps import AppConfig


class InscriptionsConfig(AppConfig):
    name = "inscriptions"
    verbose_name = "Pré-inscriptions et contact"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the system checks)
