"""Issue 18, items 3 and 4 (SPEC §10): the message thread of a demande between the partner's
structure and the organisme, with its read state and "réponse attendue"; and the fund's private
notes, which no partner page or e-mail ever shows."""

import datetime
import html
import re

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from demandes import notify, services
from demandes.attachments import AttachmentsField
from demandes.jobs import anonymise_closed_demandes
from demandes.models import (
    Evenement,
    FundEvent,
    NoteInterne,
    NotificationChoice,
    NotificationPreferences,
    Statut,
)
from notifications.models import SentEmail
from notifications.services import render_email
from tests.factories import (
    AgentFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, log_in_verified, make_demande, with_all_offres

pytestmark = pytest.mark.django_db

NIR = "2 85 03 60 123 456 78"
NOTE = "Note interne : dossier suivi par la plateforme, ne pas relancer."


def squeeze(text: str) -> str:
    return " ".join(text.split())


def page_text(response) -> str:
    return squeeze(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def logged_in(user) -> Client:
    client = Client()
    log_in_verified(client, user)
    if user.is_partner:
        assert client.get(reverse("accounts:organisme_selection")).status_code == 302
    return client


@pytest.fixture
def convention():
    return with_all_offres(
        organisme=OrganismeFactory(nom="CPAM DE L'OISE", email_referent="referent@cpam.example"),
        structure=StructureFactory(nom="CCAS CREIL"),
    )


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(
        structure=convention.structure, prenom="Lucie", email="lucie@ccas.example"
    )


@pytest.fixture
def agent(convention):
    return AgentFactory(organisme=convention.organisme, prenom="Paul")


@pytest.fixture
def demande(technicien, convention):
    return make_demande(technicien, convention)


def detail(demande) -> str:
    return reverse("demandes:detail", args=[demande.pk])


def message_url(demande) -> str:
    return reverse("demandes:message", args=[demande.pk])


def admin_url(name: str, demande) -> str:
    return reverse(f"admin:demandes_demande_{name}", args=[demande.pk])


def anonymise(demande) -> None:
    """The retention job, run once the organisme's delay (24 months) has passed."""
    with time_machine.travel(timezone.now() + datetime.timedelta(days=800), tick=False):
        assert anonymise_closed_demandes().demandes_anonymised == 1


def messages_of(demande) -> list[Evenement]:
    return list(demande.evenements.filter(kind=Evenement.Kind.MESSAGE).order_by("at", "pk"))


# --- The partner writes ---------------------------------------------------------------------


def test_a_technicien_writes_to_the_organisme_whose_agents_are_told_as_they_chose(
    technicien, demande, convention, agent
):
    # Paul wants partners' messages at once; a colleague keeps the default (the digest).
    NotificationPreferences.objects.create(
        agent=agent, message_partenaire=NotificationChoice.IMMEDIAT
    )
    AgentFactory(organisme=convention.organisme)
    client = logged_in(technicien)
    assert 'name="texte"' in client.get(detail(demande)).content.decode()

    response = client.post(message_url(demande), {"texte": "L'assurée est joignable le matin."})

    assert response.status_code == 302 and response.url == detail(demande)
    [message] = messages_of(demande)
    assert (message.message, message.auteur, message.de_l_organisme) == (
        "L'assurée est joignable le matin.",
        technicien,
        False,
    )
    [email] = SentEmail.objects.filter(template=notify.IMMEDIATE_TEMPLATE)
    assert email.recipient == agent.email
    assert FundEvent.objects.filter(demande=demande, kind=FundEvent.Kind.MESSAGE_PARTENAIRE)
    subject, text, _html = render_email(email.template, email.context)
    assert demande.reference in subject
    assert settings.SITE_URL + admin_url("change", demande) in text
    response = client.get(detail(demande))
    page = page_text(response)
    assert "L'assurée est joignable le matin." in page
    assert "(vous)" in page and "Non lu" in page
    # The demande sent is a step of the lifecycle, set apart; the message is said by a side.
    assert response.content.decode().count(" timeline-system") == 1
    assert response.content.decode().count(" timeline-said") == 1


def test_a_gestionnaire_of_the_structure_may_write_too(convention, demande):
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    response = logged_in(gestionnaire).post(message_url(demande), {"texte": "Bonjour."})
    assert response.status_code == 302
    assert [m.auteur for m in messages_of(demande)] == [gestionnaire]


def test_a_partners_message_carries_checked_attachments(technicien, demande, attachments_dir):
    client = logged_in(technicien)
    pdf = SimpleUploadedFile("avis.pdf", PDF, content_type="application/pdf")
    client.post(message_url(demande), {"texte": "Voici l'avis.", "pieces": [pdf]})
    [message] = messages_of(demande)
    assert [p.nom for p in message.pieces.all()] == ["avis.pdf"]

    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
    bad = SimpleUploadedFile("script.pdf", elf, content_type="application/pdf")
    response = client.post(message_url(demande), {"texte": "Encore.", "pieces": [bad]})
    assert response.status_code == 200
    assert response.context["message_form"].errors["pieces"]
    assert len(messages_of(demande)) == 1


def test_a_message_with_a_nir_is_refused_next_to_the_field_and_kept(technicien, demande):
    client = logged_in(technicien)
    response = client.post(message_url(demande), {"texte": f"Son numéro : {NIR}"})
    assert response.status_code == 200
    assert "numéro de sécurité sociale" in str(response.context["message_form"].errors["texte"])
    assert NIR in response.content.decode()  # the input is kept
    assert messages_of(demande) == []
    assert not FundEvent.objects.filter(kind=FundEvent.Kind.MESSAGE_PARTENAIRE).exists()


def test_a_message_too_long_is_refused(technicien, demande):
    response = logged_in(technicien).post(message_url(demande), {"texte": "a" * 4001})
    assert response.context["message_form"].errors["texte"]
    assert messages_of(demande) == []


def test_another_structures_technicien_can_neither_read_nor_write(demande):
    other = TechnicienFactory(structure=with_all_offres(organisme=demande.organisme).structure)
    client = logged_in(other)
    assert client.get(detail(demande)).status_code == 404
    assert client.post(message_url(demande), {"texte": "Bonjour."}).status_code == 404
    assert messages_of(demande) == []


def test_a_closed_demande_keeps_its_thread_read_only(technicien, agent, demande):
    services.ecrire_message(by=agent, demande=demande, texte="Nous regardons.")
    services.cloturer(by=agent, demande=demande, reponse="Fait.")
    client = logged_in(technicien)
    page = client.get(detail(demande))
    assert "Nous regardons." in page_text(page)
    assert 'name="texte"' not in page.content.decode()

    client.post(message_url(demande), {"texte": "Merci."})
    assert len(messages_of(demande)) == 1
    with pytest.raises(services.DemandeRuleError):
        services.ecrire_message(by=technicien, demande=demande, texte="Merci.")

    admin = logged_in(agent)
    assert 'name="texte"' not in admin.get(admin_url("change", demande)).content.decode()
    admin.post(admin_url("message", demande), {"texte": "Autre chose.", "apply": "1"})
    assert len(messages_of(demande)) == 1


# --- The agent writes -----------------------------------------------------------------------


def test_an_agent_expects_an_answer_until_the_partner_answers(technicien, agent, demande):
    admin = logged_in(agent)
    response = admin.post(
        admin_url("message", demande),
        {"texte": "Pouvez-vous confirmer l'adresse ?", "reponse_attendue": "on", "apply": "1"},
    )
    assert response.status_code == 302
    [message] = messages_of(demande)
    assert message.de_l_organisme and message.reponse_attendue and message.auteur == agent
    [email] = SentEmail.objects.filter(template="demandes/message_organisme")
    assert email.recipient == "lucie@ccas.example"
    subject, text, _html = render_email(email.template, email.context)
    assert demande.reference in subject and settings.SITE_URL + detail(demande) in text
    assert "Pouvez-vous confirmer" not in text  # the e-mail says where to read, not what

    client = logged_in(technicien)
    page = page_text(client.get(detail(demande)))
    assert "En attente de votre réponse" in page
    assert "Pouvez-vous confirmer l'adresse ?" in page and "CPAM DE L'OISE" in page
    assert "En attente de votre réponse" in page_text(client.get(reverse("demandes:list")))

    client.post(message_url(demande), {"texte": "Adresse confirmée."})
    assert "En attente de votre réponse" not in page_text(client.get(detail(demande)))
    assert "En attente de votre réponse" not in page_text(client.get(reverse("demandes:list")))
    assert FundEvent.objects.filter(kind=FundEvent.Kind.MESSAGE_PARTENAIRE).count() == 1


def test_another_organismes_agent_cannot_message(demande):
    stranger = AgentFactory(organisme=OrganismeFactory())
    admin = logged_in(stranger)
    response = admin.post(admin_url("message", demande), {"texte": "Bonjour.", "apply": "1"})
    assert response.status_code == 404
    assert messages_of(demande) == []
    with pytest.raises(services.DemandeRuleError):
        services.ecrire_message(by=stranger, demande=demande, texte="Bonjour.")


def test_each_side_marks_the_others_messages_read_when_it_opens_the_demande(
    technicien, agent, demande
):
    services.ecrire_message(by=agent, demande=demande, texte="Question ?")
    services.ecrire_message(by=technicien, demande=demande, texte="Réponse.")
    [question, reponse] = messages_of(demande)
    assert question.lu_le is None and reponse.lu_le is None

    logged_in(technicien).get(detail(demande))
    question.refresh_from_db()
    reponse.refresh_from_db()
    assert question.lu_le is not None and reponse.lu_le is None  # its own message: unread

    admin = logged_in(agent)
    response = admin.get(admin_url("change", demande))
    page = page_text(response)
    reponse.refresh_from_db()
    assert reponse.lu_le is not None
    assert "Lu le" in page and "CCAS CREIL" in page
    # The steps without a text (the demande sent) are set apart from the messages.
    assert response.content.decode().count('class="row-system"') == 1


def test_an_anonymised_demande_shows_no_message(technicien, agent, demande):
    services.ecrire_message(by=technicien, demande=demande, texte="Texte personnel.")
    services.cloturer(by=agent, demande=demande, reponse="Fait.")
    anonymise(demande)
    assert "Texte personnel." not in page_text(logged_in(technicien).get(detail(demande)))
    assert "Texte personnel." not in page_text(logged_in(agent).get(admin_url("change", demande)))


# --- The complement is a message that moves the status --------------------------------------


def test_a_complement_asked_is_an_agents_message_expecting_an_answer(technicien, agent, demande):
    services.demander_complement(by=agent, demande=demande, message="Joignez l'avis.")
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_DEMANDE and demande.reponse_attendue_depuis
    evenement = demande.evenements.order_by("-pk").first()
    assert evenement.reponse_attendue and evenement.de_l_organisme
    client = logged_in(technicien)
    assert "En attente de votre réponse" in page_text(client.get(detail(demande)))

    # A message of the partner while a complement is asked is the complement: the status moves.
    client.post(message_url(demande), {"texte": "Le voici."})
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_FOURNI and demande.reponse_attendue_depuis is None
    last = demande.evenements.order_by("-pk").first()
    assert (last.statut, last.message) == (Statut.COMPLEMENT_FOURNI, "Le voici.")
    # Told to the fund as the complement it is, not also as a message.
    kinds = list(
        FundEvent.objects.exclude(kind=FundEvent.Kind.NOUVELLE).values_list("kind", flat=True)
    )
    assert kinds == [FundEvent.Kind.COMPLEMENT_FOURNI]


# --- Query counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["portal", "admin"])
def test_the_thread_makes_as_many_queries_for_30_messages_as_for_3(side, attachments_dir):
    counts = []
    for count in (3, 30):
        convention = with_all_offres()
        technicien = TechnicienFactory(structure=convention.structure)
        agent = AgentFactory(organisme=convention.organisme)
        demande = make_demande(technicien, convention)
        for i in range(count):
            author = agent if i % 2 else technicien
            services.ecrire_message(by=author, demande=demande, texte=f"Message {i}")
            NoteInterne.objects.create(demande=demande, auteur=agent, texte=f"Note {i}")
        user = technicien if side == "portal" else agent
        client = logged_in(user)
        url = detail(demande) if side == "portal" else admin_url("change", demande)
        client.get(url)
        # Unread messages again, so that the marking UPDATE happens in the measured request.
        Evenement.objects.filter(demande=demande).update(lu_le=None)
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        assert f"Message {count - 1}" in page_text(response)
        counts.append(len(context.captured_queries))
    assert counts[0] == counts[1], counts


# --- Private notes --------------------------------------------------------------------------


def test_an_agent_writes_a_note_shown_on_the_admin_page_with_author_and_date(agent, demande):
    admin = logged_in(agent)
    response = admin.post(admin_url("note", demande), {"note": NOTE})
    assert response.status_code == 302
    [note] = NoteInterne.objects.filter(demande=demande)
    assert (note.texte, note.auteur) == (NOTE, agent)
    page = page_text(admin.get(admin_url("change", demande)))
    assert NOTE in page and agent.get_full_name() in page


def test_a_note_with_a_nir_is_refused(agent, demande):
    response = logged_in(agent).post(admin_url("note", demande), {"note": f"NIR {NIR}"})
    assert response.status_code == 200
    assert "numéro de sécurité sociale" in page_text(response)
    assert not NoteInterne.objects.exists()


def test_another_organismes_agent_cannot_write_a_note(demande):
    stranger = logged_in(AgentFactory(organisme=OrganismeFactory()))
    assert stranger.post(admin_url("note", demande), {"note": NOTE}).status_code == 404
    assert not NoteInterne.objects.exists()


def test_a_partner_can_reach_no_note_by_any_queryset(technicien, agent, demande):
    NoteInterne.objects.create(demande=demande, auteur=agent, texte=NOTE)
    assert list(NoteInterne.objects.visible_to(technicien)) == []
    assert [n.texte for n in NoteInterne.objects.visible_to(agent)] == [NOTE]
    assert list(NoteInterne.objects.visible_to(AgentFactory(organisme=OrganismeFactory()))) == []
    assert not hasattr(demande, "notes")


def test_no_partner_page_nor_email_about_a_demande_shows_its_notes(
    technicien, agent, demande, convention
):
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    # The agent hears of everything at once; a colleague reads it all in the daily digest.
    NotificationPreferences.objects.create(
        agent=agent,
        complement_fourni=NotificationChoice.IMMEDIAT,
        message_partenaire=NotificationChoice.IMMEDIAT,
    )
    AgentFactory(organisme=convention.organisme)
    NoteInterne.objects.create(demande=demande, auteur=agent, texte=NOTE)
    # Every step that e-mails the partner or the fund, with notes written all along.
    services.ecrire_message(by=agent, demande=demande, texte="Question ?", reponse_attendue=True)
    services.ecrire_message(by=technicien, demande=demande, texte="Réponse.")
    services.demander_complement(by=agent, demande=demande, message="Un complément.")
    NoteInterne.objects.create(demande=demande, auteur=agent, texte=NOTE + " bis")
    services.fournir_complement(by=technicien, demande=demande, message="Le complément.")
    services.cloturer(by=agent, demande=demande, reponse="Clôturée.")
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=12)):  # the next morning
        assert notify.send_daily_digests().digests >= 1

    pages = [
        reverse("home"),
        reverse("demandes:list"),
        reverse("demandes:list") + "?statut=cloturee",
        detail(demande),
    ]
    seen = []
    for user in (technicien, gestionnaire):
        client = logged_in(user)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            seen.append(response.content.decode())
    emails = SentEmail.objects.all()
    assert {e.template for e in emails} >= {
        "demandes/message_organisme",
        notify.IMMEDIATE_TEMPLATE,
        notify.DIGEST_TEMPLATE,
        "demandes/complement_demande",
        "demandes/cloturee",
    }
    for email in emails:
        seen.extend(render_email(email.template, email.context))
        seen.append(str(email.context))
    assert "Question ?" in " ".join(seen)  # the pages do show the thread
    for text in seen:
        assert "Note interne" not in html.unescape(text)


def test_notes_go_when_the_demande_is_anonymised(technicien, agent, demande):
    NoteInterne.objects.create(demande=demande, auteur=agent, texte=NOTE)
    services.cloturer(by=agent, demande=demande, reponse="Fait.")
    anonymise(demande)
    assert not NoteInterne.objects.filter(demande=demande).exists()


@pytest.mark.parametrize(
    "texte", ["", "   ", f"Son numéro : {NIR}", "a" * 4001], ids=["vide", "blanc", "nir", "long"]
)
def test_the_service_refuses_an_empty_a_nir_or_a_too_long_message(technicien, demande, texte):
    with pytest.raises(services.DemandeRuleError):
        services.ecrire_message(by=technicien, demande=demande, texte=texte)
    assert messages_of(demande) == []


def test_an_agents_files_go_only_to_a_convention_habilitee(agent, demande, convention):
    convention.habilitee = False
    convention.save()
    pdf = SimpleUploadedFile("courrier.pdf", PDF, content_type="application/pdf")
    with pytest.raises(services.DemandeRuleError):
        services.ecrire_message(
            by=agent, demande=demande, texte="Ci-joint.", uploads=AttachmentsField().clean([pdf])
        )
    assert messages_of(demande) == []
    page = logged_in(agent).get(admin_url("change", demande)).content.decode()
    assert 'name="texte"' in page and 'name="pieces"' not in page
