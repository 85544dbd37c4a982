"""Retention of the sent-e-mail log: EMAIL_LOG_RETENTION_MONTHS calendar months."""

import pytest

from notifications.jobs import purge_sent_email_log
from notifications.models import SentEmail

from .conftest import paris

pytestmark = pytest.mark.django_db


def sent_at(moment, now) -> SentEmail:
    now(*moment)
    return SentEmail.objects.create(template="accounts/invitation", recipient="a@b.fr")


def test_records_older_than_the_retention_are_deleted(now, settings):
    settings.EMAIL_LOG_RETENTION_MONTHS = 12
    old = sent_at((2025, 3, 31, 3, 29), now)
    kept = sent_at((2025, 3, 31, 3, 31), now)
    recent = sent_at((2026, 1, 5, 12, 0), now)

    now(2026, 3, 31, 3, 30)
    report = purge_sent_email_log()

    assert report.deleted == 1
    assert set(SentEmail.objects.values_list("pk", flat=True)) == {kept.pk, recent.pk}
    assert not SentEmail.objects.filter(pk=old.pk).exists()


def test_the_retention_is_a_setting(now, settings):
    settings.EMAIL_LOG_RETENTION_MONTHS = 3
    sent_at((2025, 12, 20, 9, 0), now)
    kept = sent_at((2026, 1, 5, 9, 0), now)

    now(2026, 3, 31, 3, 30)
    assert purge_sent_email_log().deleted == 1
    assert list(SentEmail.objects.values_list("pk", flat=True)) == [kept.pk]


def test_batches_go_on_until_everything_old_is_deleted_and_a_second_run_does_nothing(now):
    for day in range(1, 8):
        sent_at((2024, 1, day, 9, 0), now)
    kept = sent_at((2026, 3, 1, 9, 0), now)

    now(2026, 3, 31, 3, 30)
    assert purge_sent_email_log(batch_size=3).deleted == 7
    assert purge_sent_email_log(batch_size=3).deleted == 0
    assert list(SentEmail.objects.values_list("pk", flat=True)) == [kept.pk]
    assert paris(2026, 3, 1, 9, 0) == SentEmail.objects.get().created_at
