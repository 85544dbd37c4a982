"""Issue 18, item 1: the fund is told what arrives. A new urgent demande e-mails at once the
organisme's referent and every agent who chose "à chaque fois" for it; the other events (new
demande, complement provided, partner's message) reach each agent as they chose: at once, in the
daily digest (with the organisme's overdue demandes), or never. Through the outbox, exactly once;
never another organisme's agents."""

import datetime
import re
import zoneinfo
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from demandes import notify, services
from demandes.jobs import send_daily_digests
from demandes.models import Demande, NotificationPreferences
from notifications.models import SentEmail
from tests.browser.scenario import create_offres
from tests.factories import (
    AgentFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import all_succeed, log_in_verified, make_demande, with_all_offres

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URGENT = {"urgent": True, "categorie_urgence": "suivi-ame"}
AT_ONCE = "demandes/fonds_evenement"
DIGEST = "demandes/fonds_resume"
Choice = NotificationPreferences.Choice


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def organisme():
    return OrganismeFactory(nom="CPAM DE L'OISE", email_referent="referent@cpam-oise.example")


@pytest.fixture
def convention(organisme):
    return with_all_offres(
        organisme=organisme,
        structure=StructureFactory(nom="CCAS CREIL"),
        date_debut=datetime.date(2025, 1, 1),
    )


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure)


@pytest.fixture
def agents(organisme):
    """Alice keeps the defaults; Bruno wants new demandes at once but never urgent ones; Chloé
    wants nothing; Denis works for another organisme; Emma has left."""
    alice = AgentFactory(organisme=organisme, email="alice@cpam-oise.example")
    bruno = AgentFactory(organisme=organisme, email="bruno@cpam-oise.example")
    NotificationPreferences.objects.create(
        agent=bruno, nouvelle_urgente=Choice.JAMAIS, nouvelle=Choice.IMMEDIAT
    )
    chloe = AgentFactory(organisme=organisme, email="chloe@cpam-oise.example")
    NotificationPreferences.objects.create(
        agent=chloe,
        nouvelle_urgente=Choice.JAMAIS,
        nouvelle=Choice.JAMAIS,
        complement_fourni=Choice.JAMAIS,
        message_partenaire=Choice.JAMAIS,
    )
    denis = AgentFactory(
        organisme=OrganismeFactory(email_referent="referent@cpam-gironde.example"),
        email="denis@cpam-gironde.example",
    )
    NotificationPreferences.objects.create(
        agent=denis, nouvelle=Choice.IMMEDIAT, complement_fourni=Choice.IMMEDIAT
    )
    emma = AgentFactory(
        organisme=organisme,
        email="emma@cpam-oise.example",
        is_active=False,
        inactivated_at=paris(2026, 11, 1, 9),
    )
    return {"alice": alice, "bruno": bruno, "chloe": chloe, "denis": denis, "emma": emma}


def emails(template: str) -> list[str]:
    return sorted(SentEmail.objects.filter(template=template).values_list("recipient", flat=True))


def admin_link(demande: Demande) -> str:
    return "http://testserver" + reverse("admin:demandes_demande_change", args=[demande.pk])


# --- At once --------------------------------------------------------------------------------


def test_an_urgent_demande_emails_the_referent_and_the_agents_who_chose_at_once(
    agents, technicien, convention, on_commit, settings
):
    settings.SITE_URL = "http://testserver"
    with on_commit():
        demande = make_demande(technicien, convention, **URGENT)

    assert emails(AT_ONCE) == ["alice@cpam-oise.example", "referent@cpam-oise.example"]
    assert sorted(message.to[0] for message in mail.outbox) == emails(AT_ONCE)
    message = mail.outbox[0]
    assert demande.reference in message.subject and "urgente" in message.subject
    assert admin_link(demande) in message.body
    assert admin_link(demande) in message.alternatives[0][0]
    assert "MARTIN" not in message.body  # no insured person's name in an e-mail


def test_a_new_demande_goes_at_once_only_to_who_chose_it(agents, technicien, convention):
    make_demande(technicien, convention)
    assert emails(AT_ONCE) == ["bruno@cpam-oise.example"]


def test_a_complement_provided_and_a_partners_message(agents, technicien, convention, organisme):
    NotificationPreferences.objects.filter(agent=agents["alice"]).delete()
    NotificationPreferences.objects.create(
        agent=agents["alice"], complement_fourni=Choice.IMMEDIAT, message_partenaire=Choice.IMMEDIAT
    )
    demande = make_demande(technicien, convention)
    agent = agents["alice"]
    services.demander_complement(by=agent, demande=demande, message="L'avis d'imposition ?")
    SentEmail.objects.all().delete()

    services.fournir_complement(by=technicien, demande=demande, message="Le voici.")
    assert emails(AT_ONCE) == ["alice@cpam-oise.example"]
    notify.fund_event(demande, notify.Event.MESSAGE_PARTENAIRE)
    assert emails(AT_ONCE) == ["alice@cpam-oise.example"] * 2


def test_the_emails_are_in_the_creations_transaction(agents, technicien, convention):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_demande(technicien, convention, **URGENT)
        assert SentEmail.objects.count() == 2
        raise RuntimeError("what fails after the demande rolls its e-mails back too")
    assert not SentEmail.objects.exists()
    assert not notify.FundEvent.objects.exists()


# --- The daily digest -----------------------------------------------------------------------


@pytest.fixture
def yesterday(agents, technicien, convention):
    """Monday 30 November 2026: a new demande, an urgent one, a complement provided, a
    partner's message; an old one, sent 13 November and still open, is overdue."""
    with time_machine.travel(paris(2026, 11, 13, 9), tick=False):
        old = make_demande(technicien, convention, nom="ANCIEN")
    with time_machine.travel(paris(2026, 11, 30, 9), tick=False):
        nouvelle = make_demande(technicien, convention)
        urgente = make_demande(technicien, convention, **URGENT)
        services.demander_complement(by=agents["bruno"], demande=old, message="Un avis ?")
        services.fournir_complement(by=technicien, demande=old, message="Le voici.")
        notify.fund_event(nouvelle, notify.Event.MESSAGE_PARTENAIRE)
    SentEmail.objects.all().delete()
    return {"old": old, "nouvelle": nouvelle, "urgente": urgente}


MORNING = paris(2026, 12, 1, 7, 40)


def test_the_digest_lists_the_events_each_agent_chose_and_the_overdue_demandes(
    yesterday, on_commit, settings
):
    settings.SITE_URL = "http://testserver"
    with time_machine.travel(MORNING, tick=False), on_commit():
        report = send_daily_digests()

    # Alice (defaults) and Bruno (urgent never, new at once); not Chloé, Denis nor Emma.
    assert emails(DIGEST) == ["alice@cpam-oise.example", "bruno@cpam-oise.example"]
    assert report.digests == 2
    by_recipient = {message.to[0]: message for message in mail.outbox}
    alice = by_recipient["alice@cpam-oise.example"]
    assert "résumé" in alice.subject.lower()
    text = alice.body
    nouvelle, urgente, old = yesterday["nouvelle"], yesterday["urgente"], yesterday["old"]
    # New demande and the message (digest), the complement (digest); not the urgent one
    # (she had it at once).
    section = text.split("En retard")[0]
    assert nouvelle.reference in section and admin_link(nouvelle) in section
    assert "Complément fourni" in section and old.reference in section
    assert "Message du partenaire" in section
    assert urgente.reference not in text
    # The overdue demandes of the organisme, with their link.
    overdue = text.split("En retard")[1]
    assert old.reference in overdue and admin_link(old) in overdue
    assert nouvelle.reference not in overdue
    assert admin_link(old) in alice.alternatives[0][0]
    # Bruno had the new demande at once: his digest has the rest.
    bruno = by_recipient["bruno@cpam-oise.example"].body.split("En retard")[0]
    assert "Nouvelle demande urgente" not in bruno and urgente.reference not in bruno
    assert "Complément fourni" in bruno and "Message du partenaire" in bruno
    assert not re.search(r"Nouvelle demande\b(?! urgente)", bruno)


def test_the_digest_is_sent_once_a_day_however_many_runs(yesterday):
    with time_machine.travel(MORNING, tick=False):
        send_daily_digests()
        again = send_daily_digests()
    assert again.digests == 0
    assert len(emails(DIGEST)) == 2
    # The next day: what happened since, and the overdue demandes again.
    with time_machine.travel(MORNING + datetime.timedelta(days=1), tick=False):
        next_day = send_daily_digests()
    assert next_day.digests == 2
    latest = SentEmail.objects.filter(template=DIGEST).order_by("-pk").first()
    assert latest.context["evenements"] == []
    assert [d["reference"] for d in latest.context["en_retard"]] == [yesterday["old"].reference]


def test_the_dry_run_sends_nothing(yesterday):
    out = StringIO()
    with time_machine.travel(MORNING, tick=False):
        call_command("send_daily_digests", "--dry-run", stdout=out)
    assert "digests : 2" in out.getvalue()
    assert not SentEmail.objects.exists()
    assert not NotificationPreferences.objects.filter(digest_sent_on__isnull=False).exists()


def test_another_organismes_agents_never_hear_of_it(yesterday):
    with time_machine.travel(MORNING, tick=False):
        send_daily_digests()
    assert not SentEmail.objects.filter(recipient__endswith="gironde.example").exists()


def test_the_digest_makes_as_many_queries_for_30_agents_as_for_3(organisme, technicien, convention):
    def run() -> int:
        assert connection.features.supports_json_field  # SQLite's probe, not the job's query
        with (
            time_machine.travel(MORNING + datetime.timedelta(days=run.day), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            report = send_daily_digests()
        run.day += 1
        assert report.digests == len(agents)
        return len(queries)

    run.day = 0
    with time_machine.travel(paris(2026, 11, 13, 9), tick=False):
        make_demande(technicien, convention)  # overdue every morning
    agents = [AgentFactory(organisme=organisme) for _n in range(3)]
    with_3 = run()
    agents += [AgentFactory(organisme=organisme) for _n in range(27)]
    assert run() == with_3


# --- Mes notifications ----------------------------------------------------------------------

PAGE = reverse("admin:demandes_demande_notifications")


def test_an_agent_chooses_their_notifications(client, agents):
    alice = agents["alice"]
    log_in_verified(client, alice)
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{PAGE}"' in index and "Mes notifications" in index

    page = client.get(PAGE).content.decode()
    assert "<h1>Mes notifications</h1>" in page
    assert "À chaque fois" in page and "Dans le résumé quotidien" in page and "Jamais" in page
    assert re.search(r'name="nouvelle_urgente" value="immediat"[^>]*checked', page)
    assert re.search(r'name="nouvelle" value="resume"[^>]*checked', page)

    response = client.post(
        PAGE,
        {
            "nouvelle_urgente": "immediat",
            "nouvelle": "jamais",
            "complement_fourni": "immediat",
            "message_partenaire": "resume",
        },
    )
    assert response.status_code == 302
    prefs = NotificationPreferences.objects.get(agent=alice)
    assert (prefs.nouvelle, prefs.complement_fourni) == ("jamais", "immediat")
    followed = client.get(response["Location"]).content.decode()
    assert "Vos préférences de notification sont enregistrées." in followed

    response = client.post(PAGE, {"nouvelle_urgente": "bientot"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert NotificationPreferences.objects.get(agent=alice).nouvelle == "jamais"


def test_only_agents_have_the_page(client):
    log_in_verified(client, SuperuserFactory())
    assert client.get(PAGE).status_code == 403


@pytest.fixture
def offres_again():
    create_offres()  # the flush of an earlier transactional test removed them


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("offres_again")
def test_four_runs_at_once_send_one_digest_per_agent(organisme, technicien, convention):
    with time_machine.travel(paris(2026, 11, 13, 9), tick=False):
        make_demande(technicien, convention)  # overdue
    agents = [AgentFactory(organisme=organisme) for _n in range(6)]
    with time_machine.travel(MORNING, tick=False):
        reports = all_succeed(*[lambda: send_daily_digests(batch_size=2)] * 4)
    assert sum(report.digests for report in reports) == len(agents)
    assert sorted(emails(DIGEST)) == sorted(agent.email for agent in agents)
