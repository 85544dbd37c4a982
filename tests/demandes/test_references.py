"""References of demandes: EP-<year>-<6 digits>, consecutive within a year, from 000001 again
each year (the Europe/Paris year), and distinct under concurrent creations (SQLite here,
PostgreSQL in CI)."""

import datetime
import functools
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from conventions.models import Offre
from demandes import catalogue
from demandes.models import Demande, ReferenceCounter
from demandes.services import create_demande, next_reference
from tests.factories import ConventionFactory, TechnicienFactory
from tests.helpers import all_succeed

PARIS = ZoneInfo("Europe/Paris")
REFERENCE = re.compile(r"EP-(\d{4})-(\d{6})")
THREADS = 20


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def technicien():
    """A technicien whose structure has a convention en cours opening « étude de dossier »
    (the offer is created if a transactional test flushed the migration's rows)."""
    offre, _created = Offre.objects.get_or_create(
        code=catalogue.ETUDE_DOSSIER, defaults={"libelle": "Soumettre une demande d'étude"}
    )
    convention = ConventionFactory(date_debut=datetime.date(2020, 1, 1))
    convention.offres.add(offre)
    return TechnicienFactory(structure=convention.structure)


def create(technicien, number: int = 0) -> Demande:
    convention = technicien.structure.conventions.get()
    return create_demande(
        by=technicien,
        convention=convention,
        offre=convention.offres.get(),
        data={
            "motif": "ouverture-droits",
            "civilite": "MME",
            "nom": f"ASSUREE {number}",
            "prenom": "Lucie",
            "date_naissance": datetime.date(1980, 5, 17),
            "departement": "60",
            "consentement": True,
        },
    )


@pytest.mark.django_db
def test_next_reference_counts_from_000001_in_its_year():
    assert [next_reference(2026) for _ in range(3)] == [
        "EP-2026-000001",
        "EP-2026-000002",
        "EP-2026-000003",
    ]
    assert next_reference(2027) == "EP-2027-000001"
    assert next_reference(2026) == "EP-2026-000004"


@pytest.mark.django_db
def test_the_counter_goes_beyond_six_digits_without_repeating():
    ReferenceCounter.objects.create(year=2026, last=999_999)

    assert next_reference(2026) == "EP-2026-1000000"


@pytest.mark.django_db
def test_demandes_of_a_year_have_consecutive_references(technicien):
    with time_machine.travel(paris(2026, 3, 9, 10, 0), tick=False):
        references = [create(technicien, number).reference for number in range(4)]

    assert all(REFERENCE.fullmatch(reference) for reference in references)
    assert references == [f"EP-2026-{number:06d}" for number in range(1, 5)]
    assert set(Demande.objects.values_list("reference", flat=True)) == set(references)


@pytest.mark.django_db
def test_references_start_again_at_000001_the_next_year(technicien):
    with time_machine.travel(paris(2026, 12, 31, 23, 58), tick=False):
        last_of_2026 = [create(technicien, number).reference for number in range(2)]
    with time_machine.travel(paris(2027, 1, 1, 0, 1), tick=False):
        first_of_2027 = [create(technicien, number).reference for number in range(2, 4)]

    assert last_of_2026 == ["EP-2026-000001", "EP-2026-000002"]
    assert first_of_2027 == ["EP-2027-000001", "EP-2027-000002"]


@pytest.mark.django_db
def test_the_year_is_the_one_of_paris_not_utc(technicien):
    # 23:30 UTC on 31 December is already 00:30 on 1 January in Paris.
    new_year_in_paris = datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC)
    with time_machine.travel(new_year_in_paris, tick=False):
        reference = create(technicien).reference

    assert reference == "EP-2027-000001"


# --- Concurrency ----------------------------------------------------------------------------


def all_at_once(work: Callable[[int], str]) -> list[str]:
    """Run work(number) in THREADS threads released together, each with its own connection."""
    return all_succeed(*(functools.partial(work, number) for number in range(THREADS)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_next_reference_for_a_new_year_gives_distinct_numbers():
    # No counter for the year yet: the threads also race to create it.
    assert not ReferenceCounter.objects.filter(year=2031).exists()

    def reserve(_number: int) -> str:
        with transaction.atomic():
            return next_reference(2031)

    references = all_at_once(reserve)

    assert sorted(references) == [f"EP-2031-{number:06d}" for number in range(1, THREADS + 1)]
    assert ReferenceCounter.objects.get(year=2031).last == THREADS


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_give_distinct_references(technicien):
    year = datetime.datetime.now(PARIS).year
    with time_machine.travel(paris(year, 6, 15, 12, 0), tick=True):
        references = all_at_once(lambda number: create(technicien, number).reference)

    assert len(set(references)) == THREADS
    assert sorted(references) == [f"EP-{year}-{number:06d}" for number in range(1, THREADS + 1)]
    assert Demande.objects.count() == THREADS
