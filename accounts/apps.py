from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self):
        from anymail.signals import tracking

        from .bounces import mark_invalid_email

        tracking.connect(mark_invalid_email, dispatch_uid="accounts.mark_invalid_email")
