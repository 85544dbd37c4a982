"""`manage.py seed_demo`, run by the README's first command: the demo logins it prints exist
with the printed password, and running it again changes nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from demandes.models import Demande
from espace_partenaires.management.commands.seed_demo import DEMO_PASSWORD
from tests.helpers import log_in

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
