"""Retention of the public pages' data: INSCRIPTION_RETENTION_MONTHS calendar months after the
decision of a pré-inscription (after its receipt if nobody decided it), after the receipt of a
contact message."""

import logging

import pytest

from accounts.models import User
from inscriptions import services
from inscriptions.jobs import purge_inscriptions
from inscriptions.models import MessageContact, PreInscription, Statut
from organismes.models import StructureEvent
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    MessageContactFactory,
    PreInscriptionFactory,
)

from .conftest import paris, snapshot
from .test_purge import reverse_relations

pytestmark = pytest.mark.django_db

# The moment the job runs; 12 months before it: 31 March 2025, 03:45 (Paris).
RUN = (2026, 3, 31, 3, 45)


@pytest.fixture(autouse=True)
def retention(settings):
    settings.INSCRIPTION_RETENTION_MONTHS = 12


def received(moment, now, **fields) -> PreInscription:
    now(*moment)
    return PreInscriptionFactory(**fields)


def decided(statut, *, on, now) -> PreInscription:
    """Received and decided at the moment `on`."""
    return received(on, now, statut=statut, decided_at=paris(*on), decided_by=AgentFactory())


def message(moment, now) -> MessageContact:
    now(*moment)
    return MessageContactFactory()


def remaining(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


# What each kind of row is, and the count of the report it goes to.
KINDS = {
    "validée": (lambda moment, now: decided(Statut.VALIDEE, on=moment, now=now), "decided"),
    "refusée": (lambda moment, now: decided(Statut.REFUSEE, on=moment, now=now), "decided"),
    "en attente": (received, "pending"),
    "message": (message, "messages"),
}
NOTHING = {"dry_run": False, "decided": 0, "pending": 0, "messages": 0}


def counts(report) -> dict:
    return {
        "dry_run": report.dry_run,
        "decided": report.preinscriptions_decided,
        "pending": report.preinscriptions_pending,
        "messages": report.messages_contact,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_goes_12_months_on_a_day_later_not_a_day_sooner(now, kind):
    """Decided: from the decision; pending and messages: from their receipt."""
    make, counter = KINDS[kind]
    old = make((2025, 3, 30, 3, 45), now)
    kept = make((2025, 4, 1, 3, 45), now)
    model = type(kept)

    now(*RUN)
    report = purge_inscriptions()

    assert counts(report) == {**NOTHING, counter: 1}
    assert remaining(model) == {kept.pk}
    assert not model.objects.filter(pk=old.pk).exists()


def test_the_decision_counts_not_the_receipt(now):
    # Received long ago, decided 2 months ago: kept.
    late = received((2024, 1, 5, 9, 0), now)
    PreInscription.objects.filter(pk=late.pk).update(
        statut=Statut.REFUSEE, decided_at=paris(2026, 1, 31, 10, 0)
    )

    now(*RUN)
    assert purge_inscriptions().preinscriptions_decided == 0
    assert remaining(PreInscription) == {late.pk}


def test_the_limit_is_to_the_minute(now):
    gone = message((2025, 3, 31, 3, 44), now)
    kept = message((2025, 3, 31, 3, 46), now)

    now(*RUN)
    purge_inscriptions()

    assert remaining(MessageContact) == {kept.pk}
    assert gone.pk not in remaining(MessageContact)


def test_months_are_calendar_months_and_the_retention_is_a_setting(now, settings):
    settings.INSCRIPTION_RETENTION_MONTHS = 6
    gone = message((2026, 2, 28, 3, 44), now)  # 6 months before 31 August: 28 February
    kept = message((2026, 2, 28, 3, 46), now)
    pending_kept = received((2026, 3, 1, 9, 0), now)

    now(2026, 8, 31, 3, 45)
    purge_inscriptions()

    assert remaining(MessageContact) == {kept.pk}
    assert gone.pk not in remaining(MessageContact)
    assert remaining(PreInscription) == {pending_kept.pk}


def test_the_dry_run_reports_what_would_go_and_changes_nothing(now):
    decided(Statut.VALIDEE, on=(2024, 6, 1, 10, 0), now=now)
    received((2024, 6, 1, 10, 0), now)
    message((2024, 6, 1, 10, 0), now)
    now(*RUN)
    before = (snapshot(), remaining(PreInscription), remaining(MessageContact))

    report = purge_inscriptions(dry_run=True)

    assert counts(report) == {"dry_run": True, "decided": 1, "pending": 1, "messages": 1}
    assert (snapshot(), remaining(PreInscription), remaining(MessageContact)) == before


def test_batches_go_on_until_everything_old_is_deleted_and_a_second_run_does_nothing(now):
    for day in range(1, 8):
        decided(Statut.REFUSEE, on=(2024, 3, day, 10, 0), now=now)
        received((2024, 3, day, 10, 0), now)
        message((2024, 3, day, 10, 0), now)
    kept = message((2026, 3, 1, 9, 0), now)

    now(*RUN)
    first = purge_inscriptions(batch_size=3)
    second = purge_inscriptions(batch_size=3)

    assert counts(first) == {"dry_run": False, "decided": 7, "pending": 7, "messages": 7}
    assert counts(second) == NOTHING
    assert not PreInscription.objects.exists()
    assert remaining(MessageContact) == {kept.pk}


def test_the_log_has_counts_only(now, caplog):
    request = received((2024, 1, 5, 9, 0), now)
    contact = message((2024, 1, 5, 9, 0), now)
    now(*RUN)

    with caplog.at_level(logging.INFO, logger="inscriptions.jobs"):
        purge_inscriptions()

    logged = caplog.text
    assert "preinscriptions_pending=1" in logged and "messages_contact=1" in logged
    for personal in (request.email, request.prenom, request.nom, contact.email, contact.nom):
        assert personal not in logged


def test_a_validated_preinscription_goes_and_what_it_created_stays(now, on_commit):
    now(2025, 1, 10, 9, 0)
    convention = ConventionFactory()
    agent = AgentFactory(organisme=convention.organisme)
    preinscription = PreInscriptionFactory(convention=convention)
    with on_commit():
        gestionnaire = services.validate_preinscription(by=agent, preinscription=preinscription)
    event = StructureEvent.objects.get(kind=StructureEvent.Kind.PREINSCRIPTION_VALIDATED)

    now(2026, 1, 10, 9, 1)  # 12 months and a minute after the decision
    assert purge_inscriptions().preinscriptions_decided == 1

    assert not PreInscription.objects.exists()
    gestionnaire = User.objects.get(pk=gestionnaire.pk)
    assert (gestionnaire.is_active, gestionnaire.structure_id) == (True, convention.structure_id)
    assert User.objects.filter(pk=agent.pk).exists()
    convention.refresh_from_db()
    # The structure's history keeps its line (its details hold the request's number, no link).
    assert StructureEvent.objects.get(pk=event.pk).details == event.details
    # The convention stays claimed: its structure has its active gestionnaire.
    assert services.is_claimed(convention)
    assert services.claimable_convention(convention.organisme, convention.reference) is None


# --- Nothing points to the purged rows, so that deleting them deletes nothing else ----------


@pytest.mark.parametrize("model", [PreInscription, MessageContact])
def test_no_relation_points_to_the_purged_models(model):
    """A relation added later makes this fail: check what the purge does to it first."""
    assert reverse_relations(model) == []
