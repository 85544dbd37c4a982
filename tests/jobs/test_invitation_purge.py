"""Invitation links are deleted 30 days after they expire (until then a late click is still
offered a new link), whatever became of them: every night, in batches, with a dry run."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import tasks
from accounts.jobs import purge_expired_invitations
from accounts.models import Invitation, User
from tests.factories import TechnicienFactory

from .conftest import paris, snapshot
from .test_purge import reverse_relations

pytestmark = pytest.mark.django_db

# The moment the job runs; 30 days before it: 10 April 2026, 03:00 (Paris).
RUN = (2026, 5, 10, 3, 0)


@pytest.fixture
def account() -> User:
    return TechnicienFactory(identifiant="m.pichon", email="maryse.pichon@ccas.example")


def link(account: User, *expires_at, **fields) -> Invitation:
    return Invitation.objects.create(account=account, expires_at=paris(*expires_at), **fields)


def remaining() -> set[int]:
    return set(Invitation.objects.values_list("pk", flat=True))


def test_links_expired_more_than_30_days_ago_go_and_the_others_stay(now, account):
    gone = link(account, 2026, 4, 10, 2, 59)
    expired_lately = link(account, 2026, 4, 10, 3, 1)
    usable = link(account, 2026, 5, 11, 9, 0)

    now(*RUN)
    report = purge_expired_invitations()

    assert report.as_dict() == {"dry_run": False, "deleted": 1}
    assert remaining() == {expired_lately.pk, usable.pk}
    assert gone.pk not in remaining()


@pytest.mark.parametrize(
    "what_became_of_it",
    [{}, {"used_at": paris(2026, 3, 1, 9, 0)}, {"revoked_at": paris(2026, 3, 1, 9, 0)}],
    ids=["never used", "used", "revoked"],
)
def test_a_link_goes_whether_it_was_used_revoked_or_left(now, account, what_became_of_it):
    link(account, 2026, 3, 2, 9, 0, **what_became_of_it)

    now(*RUN)
    assert purge_expired_invitations().deleted == 1
    assert remaining() == set()
    assert User.objects.filter(pk=account.pk).exists()


def test_the_dry_run_reports_what_would_go_and_changes_nothing(now, account):
    link(account, 2026, 1, 5, 9, 0)
    link(account, 2026, 2, 5, 9, 0, used_at=paris(2026, 2, 4, 9, 0))
    kept = link(account, 2026, 5, 1, 9, 0)
    now(*RUN)
    before = (snapshot(), remaining())

    report = purge_expired_invitations(dry_run=True)

    assert report.as_dict() == {"dry_run": True, "deleted": 2}
    assert (snapshot(), remaining()) == before
    # The dry run's report is the real run's.
    assert purge_expired_invitations().as_dict() == {"dry_run": False, "deleted": 2}
    assert remaining() == {kept.pk}


def test_batches_go_on_until_every_old_link_is_gone_then_nothing(now, account):
    for day in range(1, 8):
        link(account, 2026, 3, day, 9, 0)
    kept = link(account, 2026, 4, 20, 9, 0)

    now(*RUN)
    with CaptureQueriesContext(connection) as context:
        first = purge_expired_invitations(batch_size=3)
    second = purge_expired_invitations(batch_size=3)

    deletes = [q["sql"] for q in context.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 7 links, 3 at a time: 3 + 3 + 1, each batch one DELETE
    assert (first.deleted, second.deleted) == (7, 0)
    assert remaining() == {kept.pk}


def test_the_task_returns_the_report(now, account):
    link(account, 2026, 1, 5, 9, 0)

    now(*RUN)
    assert tasks.purge_expired_invitations.delay().get() == {"dry_run": False, "deleted": 1}


def test_the_log_has_counts_only(now, account, caplog):
    link(account, 2026, 1, 5, 9, 0)
    now(*RUN)

    with caplog.at_level(logging.INFO, logger="accounts.jobs"):
        purge_expired_invitations()

    assert "purge_expired_invitations: dry_run=False, deleted=1" in caplog.text
    for personal in (account.identifiant, account.email, account.prenom, account.nom_patronymique):
        assert personal not in caplog.text


def test_no_relation_points_to_invitations():
    """Deleting a link deletes nothing else; a relation added later makes this fail."""
    assert reverse_relations(Invitation) == []
