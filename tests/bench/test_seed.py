"""`python -m bench.seed` (bench/dataset.py): the benchmarks' national volume, in miniature."""

import datetime
import io

import pytest
import time_machine
from django.db.models import F

from accounts.models import AccountEvent, Role, User
from bench import dataset
from bench.seed import Refused, seed_national
from conventions.models import Convention
from demandes.models import Demande, Evenement, ReferenceCounter, Statut
from demandes.services import next_reference
from organismes.models import StructurePartenaire

pytestmark = pytest.mark.django_db

SMALL = {"organismes": 4, "structures": 100, "accounts": 500, "demandes": 2000, "seed": 7}


@pytest.fixture
def disposable(monkeypatch):
    """The test database's name has no 'bench' in it: it is disposable all the same."""
    monkeypatch.setattr(dataset, "refusal_to_empty", lambda: None)


def seed(**options):
    with time_machine.travel(datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC), tick=False):
        seed_national(dataset.Volume(**{**SMALL, **options}), io.StringIO())


def snapshot() -> list[tuple]:
    return list(
        Demande.objects.order_by("pk").values_list(
            "reference", "structure_id", "organisme_id", "auteur_id", "nom", "prenom", "statut"
        )
    )


def test_a_database_whose_name_lacks_bench_is_refused():
    with pytest.raises(Refused, match="bench"):
        seed_national(dataset.Volume(structures=1, accounts=3, demandes=0), io.StringIO())


def test_the_volume_asked_is_generated_with_timelines(disposable):
    seed()

    assert StructurePartenaire.objects.count() == 100
    assert Convention.objects.count() == 150  # 1.5 per structure
    assert User.objects.filter(role__in=[Role.GESTIONNAIRE, Role.TECHNICIEN]).count() == 500
    assert User.objects.filter(role=Role.AGENT).count() == 4
    assert AccountEvent.objects.count() == 500
    assert Demande.objects.count() == 2000
    # Every demande has a timeline that starts with its sending and ends in its status.
    assert Evenement.objects.filter(kind=Evenement.Kind.CREEE).count() == 2000
    closed = Demande.objects.filter(statut=Statut.CLOTUREE)
    assert closed.exists()
    assert closed.filter(closed_at__isnull=True).count() == 0
    assert Evenement.objects.filter(statut=Statut.CLOTUREE).count() == closed.count()
    # Each demande comes from a technicien of its structure, under a convention of both.
    assert not Demande.objects.exclude(auteur__structure_id=F("structure_id")).exists()
    assert not Demande.objects.exclude(convention__structure_id=F("structure_id")).exists()


def test_the_same_seed_gives_the_same_data_and_new_rows_continue_the_numbering(disposable):
    seed()
    first = snapshot()
    seed()
    assert snapshot() == first
    seed(seed=8)
    assert snapshot() != first

    year, last = ReferenceCounter.objects.order_by("-year").values_list("year", "last")[0]
    assert Demande.objects.filter(reference=f"EP-{year}-{last:06d}").exists()
    assert next_reference(year) == f"EP-{year}-{last + 1:06d}"
    # New rows get new primary keys after the ones written by the seed.
    assert StructurePartenaire.objects.create(
        nom="NOUVELLE", siret="73282932000074", adresse="a", code_postal="60100", ville="Creil",
        telephone="03.44.00.00.00", nombre_membres=3,
    ).pk > StructurePartenaire.objects.exclude(nom="NOUVELLE").order_by("-pk")[0].pk  # fmt: skip
