from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self):
        from anymail.signals import tracking

        from .bounces import mark_invalid_email

        tracking.connect(mark_invalid_email, dispatch_uid="accounts.mark_invalid_email")

        from django.contrib.auth.signals import user_logged_in

        from .models import User

        def clear_dormant_warning(sender, user, **kwargs):
            # A log-in cancels the inactivation announced to an unused account (jobs.dormant).
            if getattr(user, "dormant_warning_sent_at", None) is not None:
                User.objects.filter(pk=user.pk).update(dormant_warning_sent_at=None)
                user.dormant_warning_sent_at = None

        user_logged_in.connect(
            clear_dormant_warning, weak=False, dispatch_uid="accounts.clear_dormant_warning"
        )


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on a site that asks agents and superusers for their second factor."""

    default = False  # "accounts" itself is AccountsConfig
    default_site = "accounts.admin_site.AdminSite"
