import altcha
import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import (
    AgentFactory,
    ConventionFactory,
    OrganismeFactory,
    StructureFactory,
    valid_siret,
)


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Rate-limit counters and used challenges live in the cache: each test starts afresh.

    A cheaper proof of work than in production keeps the real solving fast in the tests.
    """
    settings.ALTCHA_CHALLENGE = {"cost": 50}
    cache.clear()
    yield
    cache.clear()


def solve_anti_robot(client) -> str:
    """What the browser's widget does: fetch a challenge from the portal, solve it, and return
    the payload it puts in the form."""
    response = client.get(reverse("altcha_django:challenge"))
    assert response.status_code == 200
    challenge = altcha.Challenge.from_dict(response.json())
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


@pytest.fixture
def organisme():
    return OrganismeFactory(nom="CPAM DE L'OISE", email_referent="referent@cpam-oise.example")


@pytest.fixture
def agent(organisme):
    return AgentFactory(organisme=organisme, email="agent@cpam-oise.example")


@pytest.fixture
def convention(organisme):
    """A convention typed by the fund, whose structure has no gestionnaire yet."""
    return ConventionFactory(
        organisme=organisme,
        reference="CONV-60-0042",
        structure=StructureFactory(nom="CCAS DE CREIL", siret=valid_siret(424242)),
    )


def spaced(siret: str) -> str:
    """'123 456 789 00012', as people copy it from a Kbis."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


@pytest.fixture
def form_data(organisme, convention) -> dict:
    """A valid pré-inscription for `convention`, as typed, anti-robot check aside."""
    return {
        "organisme": organisme.pk,
        "reference_convention": " conv-60-0042 ",
        "structure_nom": "CCAS de Creil",
        "siret": spaced(convention.structure.siret),
        "adresse": "1 place de la Mairie",
        "code_postal": "60100",
        "ville": "Creil",
        "structure_telephone": "03 44 00 00 00",
        "civilite": "MME",
        "nom_patronymique": "pichon",
        "nom_usuel": "",
        "prenom": "maryse",
        "fonction": "Directrice",
        "telephone": "0700000000",
        "email": "Maryse.Pichon@ccas-creil.example",
        "cgu": "on",
    }


@pytest.fixture
def message_data(organisme) -> dict:
    """A valid contact message to `organisme`, as typed, anti-robot check aside."""
    return {
        "organisme": organisme.pk,
        "motif": "acces",
        "nom": "Maryse Pichon",
        "email": "maryse.pichon@ccas-creil.example",
        "reference_convention": "CONV-60-0042",
        "message": "Je n'arrive pas à me connecter depuis ce matin.",
    }
