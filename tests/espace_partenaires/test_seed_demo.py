"""`manage.py seed_demo`, run by the README's first command: the demo logins it prints exist
with the printed password, and running it again changes nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from conventions.models import Convention
from demandes.models import Demande
from espace_partenaires.management.commands.seed_demo import DEMO_PASSWORD
from inscriptions import services as inscriptions_services
from tests.helpers import log_in, log_in_verified

pytestmark = pytest.mark.django_db

# The README's table of demo accounts.
DEMO_LOGINS = {
    "admin": Role.ADMINISTRATEUR,
    "agent.gironde": Role.AGENT,
    "agent.opale": Role.AGENT,
    "agent.lotetgaronne": Role.AGENT,
    "agent.dordogne": Role.AGENT,
    "p.fort": Role.GESTIONNAIRE,
    "m.pichon": Role.TECHNICIEN,
    "v.chausson2": Role.TECHNICIEN,
    "v.chausson": Role.GESTIONNAIRE,
}


def seed() -> str:
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    return output.getvalue()


def test_the_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=true"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_every_demo_login_of_the_readme_exists_with_the_printed_password(settings):
    settings.DEBUG = True
    printed = seed()

    assert DEMO_PASSWORD in printed
    for identifiant, role in DEMO_LOGINS.items():
        assert identifiant in printed
        account = User.objects.get(identifiant=identifiant)
        assert account.role == role
        assert account.is_active
        assert account.check_password(DEMO_PASSWORD)
    assert Demande.objects.filter(auteur__identifiant="m.pichon").count() == 3


def test_running_the_demo_again_changes_nothing(settings):
    settings.DEBUG = True
    seed()
    counts = (User.objects.count(), Demande.objects.count())
    seed()
    assert (User.objects.count(), Demande.objects.count()) == counts


def test_the_demo_says_that_agents_enrol_a_second_factor_at_their_first_log_in(settings, client):
    """As in production: no factor is seeded, the first admin log-in enrols one (SPEC §10)."""
    settings.DEBUG = True
    printed = seed()

    assert "second facteur" in printed
    assert "http://localhost:8000/" in printed  # passkeys need a domain name, not 127.0.0.1
    assert log_in(client, "agent.gironde", DEMO_PASSWORD)
    assert client.get("/admin/")["Location"].startswith("/connexion/second-facteur/activer/")


# Issue 19, item 10: demo agents are people, greeted by their name in the admin, not
# "BIENVENUE, GIRONDE."
def test_demo_agents_have_a_first_and_a_last_name_of_their_own(settings):
    settings.DEBUG = True
    seed()

    agents = User.objects.filter(role=Role.AGENT).select_related("organisme")
    assert agents.count() == 4
    for agent in agents:
        place = agent.organisme.nom.removeprefix("CPAM ")
        assert agent.prenom and agent.nom
        assert agent.nom != "AGENT"
        assert place.lower() not in f"{agent.prenom} {agent.nom}".lower()
    assert len({agent.get_full_name() for agent in agents}) == 4


def test_the_admin_greets_an_agent_by_first_name_and_name(settings, client):
    settings.DEBUG = True
    seed()
    agent = User.objects.get(identifiant="agent.gironde")
    log_in_verified(client, agent)

    response = client.get("/admin/")

    assert f"Bienvenue, <strong>{agent.prenom} {agent.nom}</strong>." in response.text


def test_the_admin_greets_the_national_administrator_by_name_too(settings, client):
    settings.DEBUG = True
    seed()
    log_in_verified(client, User.objects.get(identifiant="admin"))

    response = client.get("/admin/")

    assert "Bienvenue, <strong>Admin NATIONAL</strong>." in response.text


# Issue 19, set-up friction: every demo convention had a gestionnaire, so the pré-inscription
# could not be tried. One convention has no account at all; its reference is printed, and the
# README gives it with the steps (tests/browser/test_readme_demo.py follows them).
PREINSCRIPTION_REFERENCE = "MER-33-2026"


def test_one_demo_convention_has_no_account_and_its_reference_is_printed(settings):
    settings.DEBUG = True
    printed = seed()

    convention = Convention.objects.select_related("structure", "organisme").get(
        reference=PREINSCRIPTION_REFERENCE
    )
    assert not convention.structure.comptes.exists()
    assert convention.is_en_cours
    assert (
        inscriptions_services.claimable_convention(convention.organisme, PREINSCRIPTION_REFERENCE)
        == convention
    )
    assert PREINSCRIPTION_REFERENCE in printed
    assert convention.structure.siret in printed
    assert "Pré-inscription" in printed
