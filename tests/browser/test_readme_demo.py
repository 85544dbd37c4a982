"""The README's "Essayer la pré-inscription", followed as written on a fresh demo database
(issue 19, set-up friction): the values are read from the README itself, so the README, the
demo data and the portal cannot drift apart."""

import io
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Role, User
from espace_partenaires.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser import scenario
from tests.browser.conftest import heading, log_in_with_app
from tests.browser.test_preinscription import fill_preinscription, pass_anti_robot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_steps() -> dict[str, str]:
    """The values the README's pré-inscription steps give, by what they are."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Essayer la pré-inscription", 1)[1].split("\n## ", 1)[0]

    def value(label: str) -> str:
        return re.search(label + r"\s*:\s*`([^`]+)`", section).group(1)

    return {
        "organisme": value("Organisme d'assurance maladie"),
        "reference": value("référence de la convention"),
        "structure": value("nom de la structure"),
        "siret": value("SIRET"),
        "agent": re.search(r"avec `(agent\.[a-z]+)`", section).group(1),
        "section": section,
    }


def test_the_readme_preinscription_demo_works_as_written(settings, new_page):
    steps = readme_steps()
    settings.DEBUG = True
    scenario.create_offres()  # as the data migration does on a fresh database
    printed = io.StringIO()
    call_command("seed_demo", stdout=printed)
    # `make run` prints the reference, as the README says.
    assert steps["reference"] in printed.getvalue()
    mail.outbox.clear()

    # 1-3. The public page, the convention's values, oneself as first gestionnaire.
    page = new_page()
    page.goto("/connexion/")
    page.get_by_role("link", name=re.compile("Pré-inscription")).click()
    heading(page, "Pré-inscription")
    fill_preinscription(
        page,
        organisme=steps["organisme"],
        reference=steps["reference"],
        structure=steps["structure"],
        siret=steps["siret"],
    )
    pass_anti_robot(page)
    page.get_by_role("button", name="Envoyer la pré-inscription").click()
    heading(page, "Pré-inscription envoyée")
    # 4. The acknowledgement and the notice to the agent.
    agent = User.objects.get(identifiant=steps["agent"])
    recipients = {email.to[0] for email in mail.outbox}
    assert {"a.lefevre@ccas-merignac.example", agent.email} <= recipients
    mail.outbox.clear()

    # 5. The agent validates it (their authenticator app enrolled, as at a first log-in).
    TOTPDevice.objects.create(user=agent, name="Application", confirmed=True)
    admin = new_page()
    log_in_with_app(admin, steps["agent"], DEMO_PASSWORD)
    admin.locator("tr.model-preinscription").get_by_role("link", name="Pré-inscriptions").click()
    admin.get_by_role("link", name=re.compile(re.escape(steps["structure"]), re.I)).first.click()
    admin.get_by_role("button", name="Valider").click()
    expect(admin.locator(".messagelist")).to_be_visible()

    # 6. The invitation, its identifiant, its link to create the password.
    gestionnaire = User.objects.get(email="a.lefevre@ccas-merignac.example")
    assert gestionnaire.role == Role.GESTIONNAIRE
    assert gestionnaire.structure.siret == steps["siret"]
    [invitation] = [email for email in mail.outbox if email.to == [gestionnaire.email]]
    assert invitation.subject == "Bienvenue sur Espace Partenaires"
    assert gestionnaire.identifiant in invitation.body
    link = re.search(r"https?://\S+/invitation/\S+/", invitation.body).group(0)
    page.goto(link)
    heading(page, "Créer mon mot de passe")
