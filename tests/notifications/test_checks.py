from django.core import checks

from notifications.checks import anymail_webhook_secret


def test_check_deploy_warns_when_the_bounce_webhook_has_no_secret(settings):
    settings.MAILER = "anymail"
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}

    [warning] = anymail_webhook_secret(None)

    assert warning.id == "notifications.W001"
    assert warning.level == checks.WARNING


def test_no_warning_once_the_secret_is_set_or_without_anymail(settings):
    settings.MAILER = "anymail"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:password"}
    assert anymail_webhook_secret(None) == []
    settings.MAILER = "local"
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}
    assert anymail_webhook_secret(None) == []
