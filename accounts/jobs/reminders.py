"""The reminder before a password expires."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from core.jobs import JobReport, for_each_locked_batch, run_job
from notifications.services import EmailToSend, schedule_emails

from ..models import User

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass
class PasswordReminderReport(JobReport):
    reminders: int = 0


def accounts_to_remind(now: datetime.datetime) -> QuerySet[User]:
    """Active accounts whose password expires within the reminder's delay and has not had its
    reminder; an expired password is not reminded (the change form is forced at log-in)."""
    max_age = datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)
    notice = datetime.timedelta(days=settings.PASSWORD_EXPIRY_REMINDER_DAYS)
    return (
        User.objects.active()
        .reachable()
        # An unusable password: the invitation is still pending.
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(password="")
        .filter(
            password_changed_at__gt=now - max_age,
            password_changed_at__lte=now - max_age + notice,
        )
        .filter(
            Q(expiry_reminder_sent_for__isnull=True)
            | ~Q(expiry_reminder_sent_for=F("password_changed_at"))
        )
    )


def remind_password_expiry(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> PasswordReminderReport:
    """E-mail each person whose password expires soon, once per password (SPEC §6)."""

    def job() -> PasswordReminderReport:
        report = PasswordReminderReport(dry_run=dry_run)
        now = timezone.now()

        def remind(accounts: list[User]) -> None:
            _remind_batch(accounts)
            report.reminders += len(accounts)

        for_each_locked_batch(accounts_to_remind(now), remind, batch_size)
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("remind_password_expiry: %s", report)
    return report


def _remind_batch(accounts: list[User]) -> None:
    max_age = datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)
    link = settings.SITE_URL + reverse("accounts:password_change")
    schedule_emails(
        EmailToSend(
            template="accounts/password_expiry",
            recipient=account.email,
            account=account,
            context={
                "prenom_nom": account.get_full_name(),
                "identifiant": account.identifiant,
                "expiry_date": date_format(
                    timezone.localtime(account.password_changed_at + max_age), "j F Y"
                ),
                "link": link,
            },
        )
        for account in accounts
    )
    # Under the rows' lock: a password changed meanwhile waits, and gets its own reminder.
    User.objects.filter(pk__in=[account.pk for account in accounts]).update(
        expiry_reminder_sent_for=F("password_changed_at")
    )
    logger.info(
        "remind_password_expiry: reminders for accounts %s", [account.pk for account in accounts]
    )
