"""Issue 20, item 3: the work queue's filter choices read by hand-written SQL
(demandes/admin/choices.py) are the ORM's, on every kind of person, structure and agent."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conventions.scoping import structures_in_scope
from demandes.admin.choices import agent_choices, structure_choices
from demandes.admin.queue import agents_in_scope
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def orm_structures(user):
    return list(structures_in_scope(user).order_by("nom", "pk").values_list("pk", "nom"))


def orm_agents(user):
    if user.is_superuser:  # AttributionFilter lists no one for a superuser
        return []
    return [(str(agent.pk), agent.get_full_name()) for agent in agents_in_scope(user)]


@pytest.fixture
def people():
    """Two organismes; structures with a past, current and future convention with the first,
    two conventions, only the other organisme's, none; names that sort by accent, case and
    equality; agents known by nom usuel or patronymique only, an inactive one, the other's."""
    oise, somme = OrganismeFactory(nom="CPAM DE L'OISE"), OrganismeFactory(nom="CPAM SOMME")
    year = datetime.timedelta(days=365)
    for nom, conventions in [
        ("CCAS DE BEAUVAIS", [(oise, TODAY - 3 * year, TODAY - 2 * year), (oise, TODAY, None)]),
        ("ccas de compiègne", [(oise, TODAY - 2 * year, TODAY - year)]),  # ended
        ("Élan solidaire", [(oise, TODAY + year, None)]),  # to come
        ("ASSOCIATION & <CO>", [(oise, TODAY - year, None), (somme, TODAY - year, None)]),
        ("ASSOCIATION & <CO>", [(oise, TODAY - year, TODAY + year)]),  # the same name
        ("CCAS D'AMIENS", [(somme, TODAY - year, None)]),  # the other organisme's only
        ("SANS CONVENTION", []),
    ]:
        structure = StructureFactory(nom=nom)
        for organisme, debut, fin in conventions:
            ConventionFactory(
                organisme=organisme, structure=structure, date_debut=debut, date_fin=fin
            )
    agent = AgentFactory(organisme=oise, prenom="Inès", nom_usuel="D'ARC", nom_patronymique="X")
    AgentFactory(organisme=oise, prenom="Léa", nom_usuel="", nom_patronymique="BERNARD")
    AgentFactory(organisme=oise, prenom="Anne", nom_usuel="BERNARD", nom_patronymique="Z")
    AgentFactory(organisme=oise, prenom="Anne", nom_usuel="BERNARD", nom_patronymique="A")
    AgentFactory(organisme=oise, prenom="Zoé", nom_usuel="ÉTIENNE", nom_patronymique="")
    AgentFactory(
        organisme=oise,
        prenom="Paul",
        nom_usuel="ADAM",
        is_active=False,
        inactivated_at=timezone.now(),
    )
    AgentFactory(organisme=somme, prenom="Marc", nom_usuel="AUTRE")
    structure = StructureFactory(nom="CCAS DE BEAUVAIS")
    return {
        "agent": agent,
        "inactive agent": AgentFactory(
            organisme=oise, is_active=False, inactivated_at=timezone.now()
        ),
        "other organisme's agent": AgentFactory(organisme=somme),
        "agent of an organisme without conventions": AgentFactory(organisme=OrganismeFactory()),
        "superuser": SuperuserFactory(),
        "technicien": TechnicienFactory(structure=structure),
        "gestionnaire": GestionnaireFactory(structure=structure),
    }


@pytest.mark.parametrize(
    "who",
    [
        "agent",
        "inactive agent",
        "other organisme's agent",
        "agent of an organisme without conventions",
        "superuser",
        "technicien",
        "gestionnaire",
    ],
)
def test_the_choices_are_the_orms(people, who):
    user = people[who]

    assert structure_choices(user) == orm_structures(user)
    assert agent_choices(user) == orm_agents(user)


def test_the_comparison_compares_something(people):
    """The agent's choices are not empty, and hold every case the fixture made."""
    agent = people["agent"]

    structures = [nom for _pk, nom in structure_choices(agent)]
    assert len(structures) == 5 and structures.count("ASSOCIATION & <CO>") == 2
    assert "CCAS D'AMIENS" not in structures and "SANS CONVENTION" not in structures
    names = [name for _pk, name in agent_choices(agent)]
    assert "Léa BERNARD" in names and "Inès D'ARC" in names and "Paul ADAM" not in names
    assert names.count("Anne BERNARD") == 2 and len(names) == 5
    assert len(structure_choices(people["superuser"])) == len(orm_structures(people["superuser"]))


def test_each_is_one_statement(people):
    with CaptureQueriesContext(connection) as queries:
        structure_choices(people["agent"])
        agent_choices(people["agent"])
    assert len(queries) == 2
