"""Expired sessions are deleted: Django never does it, and each log-in adds one."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.jobs import purge_expired_sessions
from accounts.sessions import SessionStore
from tests.factories import TEST_PASSWORD, GestionnaireFactory
from tests.helpers import log_in

pytestmark = pytest.mark.django_db


def session_at(now, *moment) -> str:
    now(*moment)
    store = SessionStore()
    store.create()
    return store.session_key


def test_sessions_past_their_idle_timeout_are_deleted_and_live_ones_stay(now):
    expired = session_at(now, 2026, 5, 10, 3, 29)  # expires at 3:59
    live = session_at(now, 2026, 5, 10, 3, 31)  # expires at 4:01

    now(2026, 5, 10, 4, 0)
    report = purge_expired_sessions()

    assert report.deleted == 1
    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert not Session.objects.filter(pk=expired).exists()


def test_a_partner_logged_out_by_the_timeout_loses_the_row_at_the_next_purge(client, now):
    now(2026, 5, 10, 9, 0)
    GestionnaireFactory(identifiant="m.pichon")
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    assert Session.objects.count() == 1

    now(2026, 5, 10, 9, 31)
    assert purge_expired_sessions().deleted == 1
    assert not Session.objects.exists()


def test_batches_go_on_until_every_expired_session_is_gone_then_nothing(now):
    for minute in range(7):
        session_at(now, 2026, 5, 9, 12, minute)
    live = session_at(now, 2026, 5, 10, 3, 50)

    now(2026, 5, 10, 4, 0)
    assert purge_expired_sessions(batch_size=3).deleted == 7
    assert purge_expired_sessions(batch_size=3).deleted == 0
    assert list(Session.objects.values_list("pk", flat=True)) == [live]


def test_the_purge_makes_as_many_queries_for_30_sessions_as_for_3(now):
    counts = []
    for count in (3, 30):
        for minute in range(count):
            session_at(now, 2026, 5, 9, 12, minute)
        now(2026, 5, 10, 4, 0)
        with CaptureQueriesContext(connection) as queries:
            assert purge_expired_sessions(batch_size=50).deleted == count
        counts.append(len(queries))

    assert counts[0] == counts[1]
