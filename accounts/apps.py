from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self):
        from anymail.signals import tracking

        from .bounces import mark_invalid_email

        tracking.connect(mark_invalid_email, dispatch_uid="accounts.mark_invalid_email")


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on a site that asks agents and superusers for their second factor."""

    default = False  # "accounts" itself is AccountsConfig
    default_site = "accounts.admin_site.AdminSite"
