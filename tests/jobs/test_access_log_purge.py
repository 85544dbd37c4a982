"""Retention of the access log (SPEC §10, issue 17 item 2): ACCESS_LOG_RETENTION_MONTHS calendar
months, then the rows go, in batches, by the job alone."""

from io import StringIO

import pytest
from django.core.management import call_command

from audit.jobs import purge_access_log
from audit.models import AccessLogEntry
from tests.factories import AccessLogEntryFactory

from .conftest import paris

pytestmark = pytest.mark.django_db


def read_at(moment, now) -> AccessLogEntry:
    now(*moment)
    return AccessLogEntryFactory(user_label="a.durand")


def test_rows_older_than_the_retention_are_deleted(now, settings):
    settings.ACCESS_LOG_RETENTION_MONTHS = 12
    old = read_at((2025, 3, 31, 3, 29), now)
    kept = read_at((2025, 3, 31, 3, 31), now)
    recent = read_at((2026, 1, 5, 12, 0), now)

    now(2026, 3, 31, 3, 30)
    report = purge_access_log()

    assert report.deleted == 1
    assert set(AccessLogEntry.objects.values_list("pk", flat=True)) == {kept.pk, recent.pk}
    assert not AccessLogEntry.objects.filter(pk=old.pk).exists()


def test_the_retention_is_a_setting_of_12_months_by_default(now, settings):
    assert settings.ACCESS_LOG_RETENTION_MONTHS == 12
    settings.ACCESS_LOG_RETENTION_MONTHS = 3
    read_at((2025, 12, 20, 9, 0), now)
    kept = read_at((2026, 1, 5, 9, 0), now)

    now(2026, 3, 31, 3, 30)
    assert purge_access_log().deleted == 1
    assert list(AccessLogEntry.objects.values_list("pk", flat=True)) == [kept.pk]


def test_batches_go_on_until_everything_old_is_deleted_and_a_second_run_does_nothing(now):
    for day in range(1, 8):
        read_at((2024, 1, day, 9, 0), now)
    kept = read_at((2026, 3, 1, 9, 0), now)

    now(2026, 3, 31, 3, 30)
    assert purge_access_log(batch_size=3).deleted == 7
    assert purge_access_log(batch_size=3).deleted == 0
    assert list(AccessLogEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    assert AccessLogEntry.objects.get().at == paris(2026, 3, 1, 9, 0)


def test_the_dry_run_says_what_would_go_and_deletes_nothing(now):
    read_at((2024, 1, 5, 9, 0), now)
    now(2026, 3, 31, 3, 30)
    out = StringIO()

    call_command("purge_access_log", "--dry-run", stdout=out)

    assert "Simulation (--dry-run)" in out.getvalue()
    assert "deleted : 1" in out.getvalue()
    assert AccessLogEntry.objects.count() == 1
    assert purge_access_log(dry_run=True).deleted == 1
    assert AccessLogEntry.objects.count() == 1


def test_the_celery_task_runs_the_job(now):
    from audit.tasks import purge_access_log as task

    read_at((2024, 1, 5, 9, 0), now)
    now(2026, 3, 31, 3, 30)
    assert task.apply().get() == {"dry_run": False, "deleted": 1}
    assert not AccessLogEntry.objects.exists()
