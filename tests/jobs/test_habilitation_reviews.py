"""The habilitation review (SPEC §10, issue 17 item 5): every HABILITATION_REVIEW_MONTHS, the
active gestionnaires of each structure are asked, once per period, to review the habilitations
of their techniciens; the period counts from the last review, else from the structure's first
convention start (else its creation)."""

import datetime

import pytest
from django.conf import settings
from django.core import mail

from accounts.jobs import request_habilitation_reviews
from accounts.models import HabilitationReview
from notifications.models import SentEmail
from tests.factories import (
    ConventionFactory,
    GestionnaireFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import all_succeed

from .conftest import paris, snapshot

pytestmark = pytest.mark.django_db

REVIEW_PATH = "/comptes/revue-des-habilitations/"


@pytest.fixture(autouse=True)
def six_months(settings):
    settings.HABILITATION_REVIEW_MONTHS = 6


@pytest.fixture
def structure(now):
    now(2026, 1, 2, 9, 0)
    structure = StructureFactory(nom="CCAS DE CREIL")
    ConventionFactory(structure=structure, date_debut=datetime.date(2026, 1, 5))
    GestionnaireFactory(
        structure=structure, prenom="Pierre", nom_patronymique="FORT", email="p.fort@ccas.fr"
    )
    # Not asked: an inactive gestionnaire, a technicien, another structure's gestionnaire.
    GestionnaireFactory(
        structure=structure,
        email="ancien@ccas.fr",
        is_active=False,
        inactivated_at=paris(2026, 1, 2, 9, 0),
    )
    TechnicienFactory(structure=structure, email="tech@ccas.fr")
    GestionnaireFactory(email="autre@ailleurs.fr")
    return structure


def run(on_commit):
    with on_commit():
        return request_habilitation_reviews()


def test_six_months_after_the_first_convention_start_the_gestionnaires_are_asked(
    now, structure, on_commit
):
    now(2026, 7, 4, 23, 0)
    assert run(on_commit).structures == 0
    assert mail.outbox == []

    now(2026, 7, 5, 6, 15)
    report = run(on_commit)

    assert (report.structures, report.emails) == (1, 1)
    [message] = mail.outbox
    assert message.to == ["p.fort@ccas.fr"]
    assert message.subject == "Espace Partenaires : revue des habilitations de CCAS DE CREIL"
    assert "Bonjour Pierre FORT," in message.body
    assert "tous les 6 mois" in message.body
    assert f"{settings.SITE_URL}{REVIEW_PATH}" in message.body
    assert f'href="{settings.SITE_URL}{REVIEW_PATH}"' in message.alternatives[0].content
    assert SentEmail.objects.get().template == "accounts/revue_habilitations"


def test_the_request_is_sent_once_per_period(now, structure, on_commit):
    now(2026, 7, 5, 6, 15)
    run(on_commit)
    state = snapshot()

    for moment in ((2026, 7, 5, 7, 0), (2026, 7, 6, 6, 15), (2026, 12, 31, 6, 15)):
        now(*moment)
        assert run(on_commit).structures == 0
    assert len(mail.outbox) == 1
    assert snapshot() == state

    # Still not reviewed six months later: asked again, once.
    now(2027, 1, 5, 6, 15)
    assert run(on_commit).structures == 1
    assert run(on_commit).structures == 0
    assert len(mail.outbox) == 2


def test_a_review_done_starts_the_next_period(now, structure, on_commit):
    now(2026, 7, 5, 6, 15)
    run(on_commit)
    gestionnaire = structure.active_gestionnaires().get()
    HabilitationReview.objects.create(
        structure=structure, by=gestionnaire, at=paris(2026, 8, 1, 10, 0), confirmed=1
    )

    now(2027, 1, 31, 6, 15)
    assert run(on_commit).structures == 0
    now(2027, 2, 1, 10, 1)
    assert run(on_commit).structures == 1
    assert len(mail.outbox) == 2


def test_without_a_convention_start_the_period_counts_from_the_creation(now, on_commit):
    """A structure whose conventions are all à venir for a long time: from its creation."""
    now(2026, 1, 2, 9, 0)
    structure = StructureFactory()
    ConventionFactory(structure=structure, date_debut=datetime.date(2027, 6, 1))
    GestionnaireFactory(structure=structure)
    TechnicienFactory(structure=structure)

    now(2026, 7, 2, 8, 0)
    assert run(on_commit).structures == 0
    now(2026, 7, 2, 9, 1)
    assert run(on_commit).structures == 1


def test_who_has_nothing_to_review_is_not_asked(now, on_commit):
    now(2025, 1, 2, 9, 0)
    # No active technicien.
    alone = ConventionFactory(date_debut=datetime.date(2025, 1, 5))
    GestionnaireFactory(structure=alone.structure)
    # No convention en cours or à venir any more.
    ended = ConventionFactory(
        date_debut=datetime.date(2025, 1, 5), date_fin=datetime.date(2025, 12, 31)
    )
    GestionnaireFactory(structure=ended.structure)
    TechnicienFactory(structure=ended.structure)
    # Access suspended by the fund: nobody can log in to review.
    suspended = ConventionFactory(date_debut=datetime.date(2025, 1, 5))
    GestionnaireFactory(structure=suspended.structure)
    TechnicienFactory(structure=suspended.structure)
    suspended.structure.suspended_at = paris(2025, 3, 1, 9, 0)
    suspended.structure.save()

    now(2026, 3, 1, 6, 15)
    assert run(on_commit).structures == 0
    assert mail.outbox == []


def test_the_period_follows_the_setting(now, structure, settings, on_commit):
    settings.HABILITATION_REVIEW_MONTHS = 3
    now(2026, 4, 5, 6, 15)
    assert run(on_commit).structures == 1


def structures_due(count: int) -> None:
    for _ in range(count):
        convention = ConventionFactory(date_debut=datetime.date(2025, 1, 5))
        GestionnaireFactory.create_batch(2, structure=convention.structure)
        TechnicienFactory(structure=convention.structure)


def test_the_job_takes_as_many_queries_for_30_structures_as_for_3(now):
    from .test_bounded_queries import queries

    now(2025, 1, 2, 9, 0)
    structures_due(3)
    now(2026, 3, 1, 6, 15)
    few, report_few = queries(request_habilitation_reviews)
    now(2025, 1, 2, 9, 0)
    structures_due(30)
    now(2026, 3, 1, 6, 15)
    many, report_many = queries(request_habilitation_reviews)

    assert (report_few.emails, report_many.emails) == (6, 60)
    assert few == many


def test_in_several_batches(now):
    now(2025, 1, 2, 9, 0)
    structures_due(7)
    now(2026, 3, 1, 6, 15)

    assert request_habilitation_reviews(batch_size=3).structures == 7
    assert request_habilitation_reviews(batch_size=3).structures == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_ask_each_structure_once(now):
    now(2025, 1, 2, 9, 0)
    structures_due(3)
    now(2026, 3, 1, 6, 15)

    reports = all_succeed(*([request_habilitation_reviews] * 4))

    assert sum(report.structures for report in reports) == 3
    assert SentEmail.objects.filter(template="accounts/revue_habilitations").count() == 6
