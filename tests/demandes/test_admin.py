"""The fund's side of the demandes in the admin (SPEC §5, §7): an agent de caisse sees and
processes only their organisme's demandes, each step writes the timeline and tells the author,
outgoing documents go only to a habilitée convention, and the indicators of a convention."""

import csv
import datetime
import io
import re
import zoneinfo

import pikepdf
import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conventions.models import Offre
from demandes import catalogue, indicators, services
from demandes.admin.changelist import DemandeAdmin
from demandes.admin.indicators import default_period
from demandes.attachments import AttachmentsField
from demandes.models import Demande, Evenement, PieceJointe, Statut
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, log_in_verified, make_demande, pdf_document

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOT_HABILITEE = "La convention n'est pas habilitée à recevoir des documents."


@pytest.fixture
def attachments_in_tmp(attachments_dir):
    return attachments_dir


def stored_files(tmp_path) -> list:
    return [path for path in tmp_path.rglob("*") if path.is_file()]


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


def open_convention(**fields):
    """A convention en cours since 2025 (so that demandes can be sent in the past tests travel
    to), with every offer of service."""
    convention = ConventionFactory(date_debut=datetime.date(2025, 1, 1), **fields)
    convention.offres.set(Offre.objects.all())
    return convention


@pytest.fixture
def agent():
    return AgentFactory(organisme=OrganismeFactory(nom="CPAM DE L'OISE"))


@pytest.fixture
def convention(agent):
    return open_convention(organisme=agent.organisme, structure=StructureFactory(nom="CCAS CREIL"))


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(
        structure=convention.structure, prenom="Lucie", email="lucie@ccas-creil.example"
    )


@pytest.fixture
def their_convention():
    """Another organisme's convention, with the same kind of partner."""
    return open_convention(
        organisme=OrganismeFactory(nom="CPAM DE LA GIRONDE"),
        structure=StructureFactory(nom="ASSOCIATION BORDELAISE"),
    )


@pytest.fixture
def their_technicien(their_convention):
    return TechnicienFactory(structure=their_convention.structure)


@pytest.fixture
def agent_client(client, agent):
    log_in_verified(client, agent)
    return client


def pdf_upload(name: str = "Attestation.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def checked_uploads(*uploads) -> list:
    """Uploads as the forms hand them to the services: checked, with their type and name."""
    return AttachmentsField().clean(list(uploads))


def url(name: str, demande: Demande) -> str:
    return reverse(f"admin:demandes_demande_{name}", args=[demande.pk])


def changelist(client, **params):
    return client.get(reverse("admin:demandes_demande_changelist"), params)


def references(response) -> list[str]:
    assert response.status_code == 200
    return [demande.reference for demande in response.context["cl"].result_list]


def messages_of(response) -> list[str]:
    return [message.message for message in response.context["messages"]]


def refreshed(demande: Demande) -> Demande:
    return Demande.objects.get(pk=demande.pk)


# --- Scope: another organisme's demande does not exist --------------------------------------


def test_an_agent_sees_only_their_organismes_demandes(
    agent_client, technicien, convention, their_technicien, their_convention
):
    ours = [make_demande(technicien, convention, nom=f"NOM{i}") for i in range(3)]
    make_demande(their_technicien, their_convention)

    response = changelist(agent_client)

    assert sorted(references(response)) == sorted(d.reference for d in ours)


def test_a_superuser_sees_every_organismes_demandes(
    client, technicien, convention, their_technicien, their_convention
):
    ours = make_demande(technicien, convention)
    theirs = make_demande(their_technicien, their_convention)
    log_in_verified(client, SuperuserFactory())

    assert sorted(references(changelist(client))) == sorted([ours.reference, theirs.reference])


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("change", "get"),
        ("prendre_en_charge", "post"),
        ("complement", "post"),
        ("cloturer", "post"),
        ("documents", "post"),
    ],
)
def test_another_organismes_demande_is_a_404_on_every_url(
    agent_client, their_technicien, their_convention, name, method
):
    their_convention.habilitee = True
    their_convention.save()
    theirs = make_demande(their_technicien, their_convention)
    data = {"apply": "1", "message": "Pièce manquante", "reponse": "Fait", "pieces": pdf_upload()}

    response = getattr(agent_client, method)(url(name, theirs), data if method == "post" else {})

    assert response.status_code == 404
    theirs = refreshed(theirs)
    assert theirs.statut == Statut.ENVOYEE
    assert theirs.evenements.count() == 1
    assert not PieceJointe.objects.exists()


def test_another_organismes_attachment_is_a_404_and_ours_downloads(
    agent_client, technicien, convention, their_technicien, their_convention
):
    ours = make_demande(technicien, convention, uploads=checked_uploads(pdf_upload()))
    theirs = make_demande(their_technicien, their_convention, uploads=checked_uploads(pdf_upload()))

    their_piece = theirs.pieces.get()
    assert agent_client.get(reverse("demandes:piece", args=[their_piece.pk])).status_code == 404

    response = agent_client.get(reverse("demandes:piece", args=[ours.pieces.get().pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")


def test_another_organismes_convention_has_no_indicators(agent_client, their_convention):
    indicateurs = reverse("admin:demandes_demande_indicateurs")

    response = agent_client.get(indicateurs, {"convention": their_convention.pk})
    assert response.status_code == 404
    response = agent_client.get(indicateurs, {"convention": their_convention.pk, "format": "csv"})
    assert response.status_code == 404
    # Not a number, nor a Unicode digit that str.isdigit() takes and the database refuses.
    for wrong in ("x", "²", "-1", "1.5"):
        assert agent_client.get(indicateurs, {"convention": wrong}).status_code == 404


def test_the_structure_filter_offers_only_the_agents_structures(
    agent, agent_client, technicien, convention, their_technicien, their_convention
):
    udaf = open_convention(organisme=agent.organisme, structure=StructureFactory(nom="UDAF OISE"))
    make_demande(technicien, convention)
    make_demande(TechnicienFactory(structure=udaf.structure), udaf)
    make_demande(their_technicien, their_convention)

    response = changelist(agent_client)

    [structure_filter] = [
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "structure"
    ]
    labels = sorted(label for _pk, label in structure_filter.lookup_choices)
    assert labels == ["CCAS CREIL", "UDAF OISE"]


def test_the_structure_filter_is_a_drop_down_list_sent_with_the_other_filters_kept(
    agent, agent_client, technicien, convention, their_convention
):
    """Hundreds of structures are a select and its button (no JavaScript needed), not a column
    of links; choosing one keeps the status, the search and the order already chosen."""
    udaf = open_convention(
        organisme=agent.organisme, structure=StructureFactory(nom="UDAF <Oise> & co")
    )
    make_demande(technicien, convention)
    mine = make_demande(TechnicienFactory(structure=udaf.structure), udaf)

    response = changelist(
        agent_client, statut__exact="envoyee", q="EP", o="2", p="1", structure=udaf.structure_id
    )
    page = response.content.decode()
    [form] = re.findall(r'<form method="get" class="filter-select">.*?</form>', page, re.S)

    assert references(response) == [mine.reference]
    assert re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form) == [
        ("statut__exact", "envoyee"),
        ("q", "EP"),
        ("o", "2"),
    ]
    assert '<label for="filtre-structure" class="visually-hidden">Structure</label>' in form
    assert re.findall(r"<option[^>]*>[^<]*</option>", form) == [
        '<option value="">Toutes</option>',
        f'<option value="{convention.structure_id}">CCAS CREIL</option>',
        f'<option value="{udaf.structure_id}" selected>UDAF &lt;Oise&gt; &amp; co</option>',
    ]
    assert "Filtrer</button>" in form


@pytest.mark.parametrize("value", ["", "abc", "١٢"])
def test_the_structure_filter_s_empty_or_wrong_value_shows_every_structure(
    agent_client, technicien, convention, value
):
    demande = make_demande(technicien, convention)

    assert references(changelist(agent_client, structure=value)) == [demande.reference]


def test_another_organisme_s_structure_in_the_filter_shows_nothing(
    agent_client, technicien, convention, their_technicien, their_convention
):
    make_demande(technicien, convention)
    make_demande(their_technicien, their_convention)

    assert references(changelist(agent_client, structure=their_convention.structure_id)) == []


def test_the_partners_data_cannot_be_added_changed_or_deleted(agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    assert agent_client.get(reverse("admin:demandes_demande_add")).status_code == 403
    assert agent_client.post(url("delete", demande), {"post": "yes"}).status_code == 403
    response = agent_client.post(url("change", demande), {"nom": "AUTRE"})
    assert response.status_code == 403
    assert refreshed(demande).nom == "MARTIN"
    assert Demande.objects.filter(pk=demande.pk).exists()


# --- The list -------------------------------------------------------------------------------


def test_the_list_shows_urgent_demandes_first_then_the_oldest(agent_client, technicien, convention):
    def at(day: int, **data) -> Demande:
        with time_machine.travel(paris(2026, 3, day, 10), tick=False):
            return make_demande(technicien, convention, nom=f"JOUR{day}", **data)

    urgent = {"urgent": True, "categorie_urgence": "suivi-ame"}
    recent, old, recent_urgent, old_urgent = at(9), at(2), at(8, **urgent), at(3, **urgent)

    assert references(changelist(agent_client)) == [
        old_urgent.reference,
        recent_urgent.reference,
        old.reference,
        recent.reference,
    ]


def test_the_list_shows_what_an_agent_needs(agent_client, technicien, convention):
    make_demande(
        technicien,
        convention,
        nom="DURAND",
        prenom="Paul",
        urgent=True,
        categorie_urgence="sans-droits-soins",
    )

    content = changelist(agent_client).content.decode()

    for text in (
        "Urgent",
        "Assuré sans droits avec soins imminents",
        "envoyée",
        "Demander un rendez-vous pour un assuré",
        "Complémentaire santé solidaire (C2S)",
        "CCAS CREIL",
        "DURAND Paul",
    ):
        assert text in content


def test_the_list_filters_by_status_offer_urgency_and_structure(
    agent, agent_client, technicien, convention
):
    other_convention = open_convention(organisme=agent.organisme)
    other_technicien = TechnicienFactory(structure=other_convention.structure)
    rendez_vous = make_demande(technicien, convention)
    document = make_demande(technicien, convention, offre="document")
    urgent = make_demande(technicien, convention, urgent=True, categorie_urgence="suivi-ame")
    elsewhere = make_demande(other_technicien, other_convention)
    services.prendre_en_charge(by=agent, demande=document)

    assert references(changelist(agent_client, statut__exact="en_cours")) == [document.reference]
    offre = Offre.objects.get(code="document")
    assert references(changelist(agent_client, offre__id__exact=offre.pk)) == [document.reference]
    assert references(changelist(agent_client, urgent__exact="1")) == [urgent.reference]
    assert sorted(
        references(changelist(agent_client, structure=convention.structure_id))
    ) == sorted([rendez_vous.reference, document.reference, urgent.reference])
    assert references(changelist(agent_client, structure=other_convention.structure_id)) == [
        elsewhere.reference
    ]


def test_the_list_searches_reference_insured_person_and_structure(
    agent, agent_client, technicien, convention
):
    other_convention = open_convention(
        organisme=agent.organisme, structure=StructureFactory(nom="UDAF OISE")
    )
    martin = make_demande(technicien, convention, nom="MARTIN", prenom="Jeanne")
    bernard = make_demande(technicien, convention, nom="BERNARD", prenom="Hugo")
    udaf = make_demande(
        TechnicienFactory(structure=other_convention.structure),
        other_convention,
        nom="PETIT",
        prenom="Léa",
    )

    assert references(changelist(agent_client, q="martin")) == [martin.reference]
    assert references(changelist(agent_client, q="hugo")) == [bernard.reference]
    assert references(changelist(agent_client, q=udaf.reference)) == [udaf.reference]
    assert references(changelist(agent_client, q="udaf")) == [udaf.reference]


def test_the_list_makes_as_many_queries_for_100_demandes_as_for_5(
    agent, agent_client, technicien, convention
):
    offres = list(Offre.objects.filter(code__in=["rendez-vous", "document"]))
    other_structure = open_convention(organisme=agent.organisme)

    def add(numbers):
        Demande.objects.bulk_create(
            Demande(
                reference=f"EP-2026-{i:06d}",
                offre=offres[i % 2],
                motif="c2s" if offres[i % 2].code == "rendez-vous" else "attestation-droits",
                structure=(convention, other_structure)[i % 2].structure,
                organisme=agent.organisme,
                convention=(convention, other_structure)[i % 2],
                auteur=technicien,
                civilite="MME",
                nom=f"NOM{i}",
                prenom="Jeanne",
                date_naissance=datetime.date(1980, 1, 1),
                departement="60",
                consentement=True,
                urgent=i % 3 == 0,
                categorie_urgence="suivi-ame" if i % 3 == 0 else "",
            )
            for i in numbers
        )

    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = changelist(agent_client)
        return len(queries), len(response.context["cl"].result_list)

    add(range(1, 6))
    with_5, rows = count_queries()
    assert rows == 5
    add(range(6, 101))
    with_100, rows = count_queries()
    assert rows == DemandeAdmin.list_per_page == 50  # a full page
    assert with_100 == with_5


# --- Processing: each step writes the timeline ----------------------------------------------


def test_the_change_page_offers_only_the_steps_the_status_allows(
    agent, agent_client, technicien, convention
):
    demande = make_demande(technicien, convention)

    content = agent_client.get(url("change", demande)).content.decode()
    for name in ("prendre_en_charge", "complement", "cloturer"):
        assert url(name, demande) in content
    assert url("documents", demande) not in content  # the convention is not habilitée

    services.prendre_en_charge(by=agent, demande=demande)
    content = agent_client.get(url("change", demande)).content.decode()
    assert url("prendre_en_charge", demande) not in content
    assert url("complement", demande) in content

    services.cloturer(by=agent, demande=demande, reponse="Rendez-vous fixé.")
    response = agent_client.get(url("change", demande))
    assert response.context["traitement"] == []
    assert "Rendez-vous fixé." in response.content.decode()


def test_a_habilitee_convention_offers_to_attach_documents(agent_client, technicien, convention):
    convention.habilitee = True
    convention.save()
    demande = make_demande(technicien, convention)

    assert url("documents", demande) in agent_client.get(url("change", demande)).content.decode()


def test_the_change_page_shows_the_timeline_and_its_attachments(
    agent_client, technicien, convention
):
    demande = make_demande(technicien, convention, uploads=checked_uploads(pdf_upload()))
    piece = demande.pieces.get()

    response = agent_client.get(url("change", demande))

    content = response.content.decode()
    assert reverse("demandes:piece", args=[piece.pk]) in content
    assert "Attestation.pdf" in content
    assert "demande envoyée" in content


def test_taking_in_charge_writes_the_timeline(agent, agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    response = agent_client.post(url("prendre_en_charge", demande), follow=True)

    assert response.redirect_chain == [(url("change", demande), 302)]
    assert refreshed(demande).statut == Statut.EN_COURS
    evenement = demande.evenements.exclude(kind=Evenement.Kind.ATTRIBUTION).last()
    assert (evenement.kind, evenement.statut) == (Evenement.Kind.STATUT, Statut.EN_COURS)
    assert evenement.de_l_organisme is True
    assert evenement.auteur == agent
    assert messages_of(response) == [f"La demande {demande.reference} est prise en charge."]


def test_taking_in_charge_needs_a_post(agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    assert agent_client.get(url("prendre_en_charge", demande)).status_code == 405
    assert refreshed(demande).statut == Statut.ENVOYEE


def test_a_refused_transition_shows_why_and_changes_nothing(
    agent, agent_client, technicien, convention
):
    demande = make_demande(technicien, convention)
    services.cloturer(by=agent, demande=demande, reponse="Traitée par téléphone.")
    before = list(demande.evenements.values_list("pk", flat=True))

    response = agent_client.post(url("prendre_en_charge", demande), follow=True)

    assert messages_of(response) == [
        "Une demande « clôturée » ne peut pas passer à « en cours de traitement »."
    ]
    demande = refreshed(demande)
    assert demande.statut == Statut.CLOTUREE
    assert demande.reponse == "Traitée par téléphone."
    assert list(demande.evenements.values_list("pk", flat=True)) == before


def test_asking_a_complement_opens_its_form_then_tells_the_author(
    agent, agent_client, technicien, convention, django_capture_on_commit_callbacks
):
    demande = make_demande(technicien, convention)

    # The change page's button opens the form; nothing changes yet.
    response = agent_client.post(url("complement", demande))
    assert response.status_code == 200
    assert "message" in response.context["form"].fields
    assert refreshed(demande).statut == Statut.ENVOYEE

    response = agent_client.post(url("complement", demande), {"apply": "1", "message": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["message"] == ["Ce champ est obligatoire."]
    assert refreshed(demande).statut == Statut.ENVOYEE

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("complement", demande),
            {"apply": "1", "message": "Merci de joindre l'avis d'imposition."},
        )

    assert response.status_code == 302
    assert refreshed(demande).statut == Statut.COMPLEMENT_DEMANDE
    evenement = demande.evenements.last()
    assert evenement.statut == Statut.COMPLEMENT_DEMANDE
    assert evenement.message == "Merci de joindre l'avis d'imposition."
    assert evenement.de_l_organisme is True
    [email] = mail.outbox
    assert email.to == ["lucie@ccas-creil.example"]
    assert demande.reference in email.subject
    assert f"{django_settings.SITE_URL}/demandes/{demande.pk}/" in email.body


def test_a_complement_cannot_be_asked_twice_in_a_row(
    agent, agent_client, technicien, convention, django_capture_on_commit_callbacks
):
    demande = make_demande(technicien, convention)
    with django_capture_on_commit_callbacks(execute=True):
        services.demander_complement(by=agent, demande=demande, message="Avis d'imposition ?")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("complement", demande), {"apply": "1", "message": "Encore ?"}, follow=True
        )

    assert messages_of(response) == [
        "Une demande « complément demandé » ne peut pas passer à « complément demandé »."
    ]
    assert demande.evenements.count() == 2
    assert mail.outbox == []


def test_a_message_to_the_partner_holds_no_nir(agent_client, technicien, convention):
    demande = make_demande(technicien, convention)

    response = agent_client.post(
        url("complement", demande), {"apply": "1", "message": "Assuré 2 75 03 60 123 456 78"}
    )

    assert response.status_code == 200
    assert "NIR" in response.context["form"].errors["message"][0]
    assert refreshed(demande).statut == Statut.ENVOYEE


def test_closing_needs_an_answer_and_tells_the_author(
    agent, agent_client, technicien, convention, django_capture_on_commit_callbacks
):
    demande = make_demande(technicien, convention)

    response = agent_client.post(url("cloturer", demande), {"apply": "1", "reponse": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["reponse"] == ["Ce champ est obligatoire."]
    # Not habilitée: no field for documents.
    assert list(response.context["form"].fields) == ["reponse"]

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("cloturer", demande), {"apply": "1", "reponse": "Rendez-vous le 3 mars à 10 h."}
        )

    assert response.status_code == 302
    demande = refreshed(demande)
    assert demande.statut == Statut.CLOTUREE
    assert demande.reponse == "Rendez-vous le 3 mars à 10 h."
    assert demande.closed_at is not None
    evenement = demande.evenements.last()
    assert (evenement.statut, evenement.de_l_organisme) == (Statut.CLOTUREE, True)
    [email] = mail.outbox
    assert email.to == ["lucie@ccas-creil.example"]
    assert demande.reference in email.subject
    assert f"{django_settings.SITE_URL}/demandes/{demande.pk}/" in email.body


def test_documents_are_refused_when_the_convention_is_not_habilitee(
    agent_client, technicien, convention, attachments_in_tmp
):
    demande = make_demande(technicien, convention)

    response = agent_client.post(
        url("cloturer", demande), {"apply": "1", "reponse": "Voici.", "pieces": pdf_upload()}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [NOT_HABILITEE]

    response = agent_client.post(
        url("documents", demande), {"apply": "1", "pieces": pdf_upload()}, follow=True
    )
    assert messages_of(response) == [NOT_HABILITEE]

    assert refreshed(demande).statut == Statut.ENVOYEE
    assert demande.evenements.count() == 1
    assert not PieceJointe.objects.exists()
    assert stored_files(attachments_in_tmp) == []


def test_closing_with_documents_when_the_convention_is_habilitee(
    agent_client, technicien, convention, attachments_in_tmp, django_capture_on_commit_callbacks
):
    convention.habilitee = True
    convention.save()
    demande = make_demande(technicien, convention)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("cloturer", demande),
            {"apply": "1", "reponse": "Attestation jointe.", "pieces": pdf_upload("Droits.pdf")},
        )

    assert response.status_code == 302
    piece = PieceJointe.objects.get()
    assert (piece.demande, piece.sens, piece.nom) == (
        demande,
        PieceJointe.Sens.SORTANTE,
        "Droits.pdf",
    )
    assert piece.evenement == demande.evenements.last()
    assert piece.evenement.statut == Statut.CLOTUREE
    [stored] = stored_files(attachments_in_tmp)
    assert stored.read_bytes() == PDF
    download = agent_client.get(reverse("demandes:piece", args=[piece.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF-1.4")
    assert len(mail.outbox) == 1


def test_attaching_documents_to_a_habilitee_convention(
    agent, agent_client, technicien, convention, attachments_in_tmp
):
    convention.habilitee = True
    convention.save()
    demande = make_demande(technicien, convention)

    response = agent_client.post(url("documents", demande), {"apply": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["pieces"] == ["Ce champ est obligatoire."]

    response = agent_client.post(
        url("documents", demande),
        {"apply": "1", "pieces": pdf_upload("Certificat.pdf"), "message": "Le certificat."},
        follow=True,
    )

    assert messages_of(response) == [f"Les documents sont joints à la demande {demande.reference}."]
    evenement = demande.evenements.last()
    assert (evenement.kind, evenement.message) == (Evenement.Kind.PIECES, "Le certificat.")
    assert (evenement.de_l_organisme, evenement.auteur) == (True, agent)
    piece = evenement.pieces.get()
    assert (piece.sens, piece.nom) == (PieceJointe.Sens.SORTANTE, "Certificat.pdf")
    assert len(stored_files(attachments_in_tmp)) == 1
    assert refreshed(demande).statut == Statut.ENVOYEE  # documents are not a status change


def test_a_file_that_is_not_a_pdf_or_an_image_is_refused(agent_client, technicien, convention):
    convention.habilitee = True
    convention.save()
    demande = make_demande(technicien, convention)
    fake = SimpleUploadedFile(
        "courrier.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )

    response = agent_client.post(url("documents", demande), {"apply": "1", "pieces": fake})

    assert response.status_code == 200
    assert "n'est ni un PDF" in response.context["form"].errors["pieces"][0]
    assert not PieceJointe.objects.exists()


def launch_action(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))


def embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")


@pytest.mark.parametrize(
    ("step", "data", "edit", "reason"),
    [
        pytest.param(
            "documents",
            {},
            launch_action,
            "ce PDF contient du contenu actif (un script ou le lancement d'un programme)",
            id="documents, launch action",
        ),
        pytest.param(
            "cloturer",
            {"reponse": "Attestation jointe."},
            embedded_file,
            "ce PDF contient d'autres fichiers",
            id="closing, embedded file",
        ),
    ],
)
def test_a_document_sent_by_an_agent_is_checked_as_the_partners_are(
    agent_client, technicien, convention, attachments_in_tmp, step, data, edit, reason
):
    convention.habilitee = True
    convention.save()
    demande = make_demande(technicien, convention)
    document = SimpleUploadedFile("Droits.pdf", pdf_document(edit), content_type="application/pdf")

    response = agent_client.post(url(step, demande), {"apply": "1", **data, "pieces": document})

    assert response.status_code == 200
    [error] = response.context["form"].errors["pieces"]
    assert error.startswith(f"Le fichier « Droits.pdf » est refusé : {reason}")
    assert not PieceJointe.objects.exists() and stored_files(attachments_in_tmp) == []
    assert refreshed(demande).statut == Statut.ENVOYEE


# --- Indicators (SPEC §7) -------------------------------------------------------------------


@pytest.fixture
def year_of_demandes(agent, convention, technicien):
    """January to March 2026 for the convention, and demandes that must not be counted."""

    def at(moment, **data):
        with time_machine.travel(moment, tick=False):
            return make_demande(technicien, convention, **data)

    def close(demande, moment):
        with time_machine.travel(moment, tick=False):
            services.cloturer(by=agent, demande=demande, reponse="Fait.")

    before = at(paris(2025, 12, 31, 23, 30))  # outside the period, by Paris time
    january = [at(paris(2026, 1, 5, 9)), at(paris(2026, 1, 20, 9), offre="document")]
    urgent = {"urgent": True, "categorie_urgence": "suivi-ame"}
    february = [
        at(paris(2026, 2, 2, 9), **urgent),
        at(paris(2026, 2, 3, 9), **urgent),
        at(paris(2026, 2, 28, 23), offre="document", urgent=True, categorie_urgence="invalidite"),
    ]
    after = at(paris(2026, 4, 1, 0, 30))
    close(january[0], paris(2026, 1, 7, 9))  # 2 days
    close(january[1], paris(2026, 1, 23, 21))  # 3.5 days
    close(february[0], paris(2026, 2, 12, 9))  # 10 days
    close(before, paris(2026, 1, 2, 9))
    close(after, paris(2026, 4, 2, 9))
    # Another convention of the same organisme: not this convention's figures.
    other = open_convention(organisme=agent.organisme)
    with time_machine.travel(paris(2026, 2, 10, 9), tick=False):
        make_demande(TechnicienFactory(structure=other.structure), other)
    return convention


def test_indicators_of_a_convention_for_a_period(year_of_demandes, django_assert_num_queries):
    with django_assert_num_queries(5):
        resultats = indicators.compute(
            year_of_demandes, datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)
        )

    assert resultats.mois == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 2, 1),
        datetime.date(2026, 3, 1),
    )
    rows = {ligne.offre: (ligne.par_mois, ligne.total) for ligne in resultats.par_offre}
    assert rows["Demander un rendez-vous pour un assuré"] == ((1, 2, 0), 3)
    assert rows["Demander un document"] == ((1, 1, 0), 2)
    assert rows["Contacter votre organisme"] == ((0, 0, 0), 0)
    assert len(rows) == len(catalogue.MOTIFS)  # every offer, none for the history
    assert resultats.total_par_mois == (2, 3, 0)
    assert resultats.total == 5
    urgentes = {ligne.categorie: ligne.nombre for ligne in resultats.urgentes}
    assert urgentes["Suivi d'une demande d'AME"] == 2
    assert urgentes["Invalidité non payée ou sans réponse depuis plus de 30 jours"] == 1
    assert urgentes["Assuré sans droits avec soins imminents"] == 0
    assert resultats.total_urgentes == 3
    assert resultats.cloturees == 3
    assert resultats.delai_median_jours == 3.5


def test_indicators_of_a_period_without_demandes(year_of_demandes):
    resultats = indicators.compute(
        year_of_demandes, datetime.date(2026, 6, 1), datetime.date(2026, 6, 30)
    )

    assert (resultats.total, resultats.total_par_mois, resultats.total_urgentes) == (0, (0,), 0)
    assert (resultats.cloturees, resultats.delai_median_jours) == (0, None)


def test_the_indicators_page_and_its_csv(agent_client, year_of_demandes):
    page = reverse("admin:demandes_demande_indicateurs")
    params = {"convention": year_of_demandes.pk, "du": "2026-01-01", "au": "2026-03-31"}

    response = agent_client.get(page, params)

    assert response.status_code == 200
    assert response.context["resultats"].total == 5
    content = response.content.decode()
    assert "3,5 jours" in content
    assert "format=csv" in response.context["csv_url"]

    response = agent_client.get(response.context["csv_url"])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="indicateurs-{year_of_demandes.reference.lower()}'
        '-20260101-20260331.csv"'
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Convention",
        year_of_demandes.reference,
        "CCAS CREIL",
        "CPAM DE L'OISE",
    ]
    assert rows[1] == ["Période", "01/01/2026", "31/03/2026"]
    assert rows[3] == ["Offre de service", "2026-01", "2026-02", "2026-03", "Total"]
    assert ["Demander un rendez-vous pour un assuré", "1", "2", "0", "3"] in rows
    assert ["Demander un document", "1", "1", "0", "2"] in rows
    assert ["Total", "2", "3", "0", "5"] in rows
    assert ["Suivi d'une demande d'AME", "2"] in rows
    assert ["Total", "3"] in rows
    assert ["Demandes clôturées", "3"] in rows
    assert rows[-1] == ["Délai médian de clôture (jours)", "3,5"]


def test_the_indicators_default_to_the_last_year_of_the_convention(agent_client, convention):
    convention.date_debut = datetime.date(2025, 3, 1)
    convention.save()

    with time_machine.travel(paris(2026, 6, 15, 12), tick=False):
        response = agent_client.get(
            reverse("admin:demandes_demande_indicateurs"), {"convention": convention.pk}
        )

    resultats = response.context["resultats"]
    assert (resultats.du, resultats.au) == (datetime.date(2025, 6, 16), datetime.date(2026, 6, 15))
    assert len(resultats.mois) == 13


def test_the_default_period_ending_on_29_february(convention):
    # Two years on, the agent's password would have expired: the rule is asked directly.
    with time_machine.travel(paris(2028, 2, 29, 12), tick=False):
        assert default_period(convention) == (datetime.date(2027, 3, 1), datetime.date(2028, 2, 29))


def test_the_indicators_ask_for_a_convention(agent_client, convention):
    response = agent_client.get(
        reverse("admin:demandes_demande_indicateurs"), {"convention": "", "du": "2026-01-01"}
    )

    assert response.status_code == 200
    assert response.context["resultats"] is None
    assert response.context["form"].errors["convention"] == ["Ce champ est obligatoire."]


def test_the_indicators_refuse_a_reversed_or_too_long_period(agent_client, convention):
    page = reverse("admin:demandes_demande_indicateurs")

    response = agent_client.get(
        page, {"convention": convention.pk, "du": "2026-03-01", "au": "2026-01-01"}
    )
    assert response.context["resultats"] is None
    assert response.context["form"].non_field_errors() == [
        "La date de début doit précéder la date de fin."
    ]
    response = agent_client.get(
        page, {"convention": convention.pk, "du": "2020-01-01", "au": "2026-01-01"}
    )
    assert response.context["resultats"] is None
    assert response.context["form"].non_field_errors() == [
        "La période ne peut pas dépasser 36 mois."
    ]


def test_a_period_of_exactly_36_months_is_accepted_one_day_more_is_not(agent_client, convention):
    page = reverse("admin:demandes_demande_indicateurs")

    # 15 January 2024 to 14 January 2027: 36 months to the day, over 37 calendar months.
    response = agent_client.get(
        page, {"convention": convention.pk, "du": "2024-01-15", "au": "2027-01-14"}
    )
    assert response.context["form"].errors == {}
    assert response.context["resultats"] is not None
    response = agent_client.get(
        page, {"convention": convention.pk, "du": "2024-01-15", "au": "2027-01-15"}
    )
    assert response.context["form"].non_field_errors() == [
        "La période ne peut pas dépasser 36 mois."
    ]


def test_the_indicators_are_linked_from_the_convention_and_the_list(agent_client, convention):
    indicateurs = reverse("admin:demandes_demande_indicateurs")

    response = agent_client.get(
        reverse("admin:conventions_convention_change", args=[convention.pk])
    )
    assert f"{indicateurs}?convention={convention.pk}" in response.content.decode()
    assert indicateurs in changelist(agent_client).content.decode()
    # Without a convention chosen: the form, with the agent's conventions only.
    response = agent_client.get(indicateurs)
    assert response.status_code == 200
    assert list(response.context["form"].fields["convention"].queryset) == [convention]


def test_closing_time_is_measured_from_sending_to_closing(agent, technicien, convention):
    with time_machine.travel(paris(2026, 5, 4, 9), tick=False):
        demande = make_demande(technicien, convention)
    with time_machine.travel(paris(2026, 5, 5, 21), tick=False):
        services.cloturer(by=agent, demande=demande, reponse="Fait.")

    resultats = indicators.compute(
        convention, datetime.date(2026, 5, 1), datetime.date(2026, 5, 31)
    )

    assert resultats.delai_median_jours == 1.5


def test_the_median_of_an_even_number_of_closing_times_is_between_the_middle_two(
    agent, technicien, convention
):
    # Sent on the 4th at 9:00 and closed 10, 1, 4 and 2 days later: 2 and 4 are in the middle.
    for days in (10, 1, 4, 2):
        with time_machine.travel(paris(2026, 5, 4, 9), tick=False):
            demande = make_demande(technicien, convention)
        with time_machine.travel(paris(2026, 5, 4 + days, 9), tick=False):
            services.cloturer(by=agent, demande=demande, reponse="Fait.")

    resultats = indicators.compute(
        convention, datetime.date(2026, 5, 1), datetime.date(2026, 5, 31)
    )

    assert (resultats.cloturees, resultats.delai_median_jours) == (4, 3.0)


def test_the_indicators_page_makes_as_many_queries_for_30_conventions_as_for_3(
    agent, agent_client, technicien, convention
):
    page = reverse("admin:demandes_demande_indicateurs")

    def count_queries() -> int:
        agent_client.get(page, {"convention": convention.pk})  # warm-up
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(page, {"convention": convention.pk})
        assert response.status_code == 200
        assert response.context["resultats"] is not None
        return len(queries)

    def add(count: int) -> None:
        for _ in range(count):
            other = open_convention(organisme=agent.organisme)
            make_demande(TechnicienFactory(structure=other.structure), other)
            make_demande(technicien, convention, urgent=True, categorie_urgence="suivi-ame")
            closed = make_demande(technicien, convention, offre="document")
            services.cloturer(by=agent, demande=closed, reponse="Fait.")

    add(3)
    with_3 = count_queries()
    add(27)
    with_30 = count_queries()

    assert with_30 == with_3
