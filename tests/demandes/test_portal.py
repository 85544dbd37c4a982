"""SPEC §5, the partner's side of demandes: choosing an offer, each offer's form and its rules
(NIR guard, consent, urgency, duplicates, attachments), "Mes demandes" (the structure's history
with the selected organisme), a demande's page with its timeline, and the answer to a complement.
"""

import datetime
import html
import io
import itertools
import math
import re
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from PIL import ExifTags, Image

from conventions.models import Offre
from core.nir import contains_nir
from demandes import services
from demandes.models import Demande, Evenement, PieceJointe, Statut
from demandes.views import LIST_PAGE_SIZE
from tests.factories import (
    AgentFactory,
    GestionnaireFactory,
    OrganismeFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, image_file, log_in_verified, pdf_document, with_all_offres

pytestmark = pytest.mark.django_db

LIST_URL = reverse("demandes:list")
CHOOSE_URL = reverse("demandes:choose")
NIR_MESSAGE = "Ce texte semble contenir un numéro de sécurité sociale (NIR)"

LOUISE = {
    "civilite": "MME",
    "nom": "MARTIN",
    "prenom": "Louise",
    "date_naissance": "1985-03-12",
    "departement": "60",
    "commentaire": "",
    "consentement": "on",
}

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120


def png_1x1() -> bytes:
    """A valid 1×1 red PNG: signature, IHDR, IDAT (one filtered scanline), IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8 bits, RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = png_1x1()


def pixels(content: bytes) -> bytes:
    with Image.open(io.BytesIO(content)) as image:
        return image.convert("RGB").tobytes()


# Far from the counter's numbers, so that bulk demandes and created ones never share a reference.
REFERENCES = itertools.count(500_001)


# --- Fixtures and helpers -------------------------------------------------------------------


def stored_files(location: Path) -> list[Path]:
    return [path for path in location.rglob("*") if path.is_file()] if location.exists() else []


def logged_in(user, organisme=None) -> Client:
    client = Client()
    log_in_verified(client, user)
    url = reverse("accounts:organisme_selection")
    response = (
        client.get(url) if organisme is None else client.post(url, {"organisme": organisme.pk})
    )
    assert response.status_code == 302
    assert client.session.get("organisme_id") is not None
    return client


@pytest.fixture
def convention():
    return with_all_offres()


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure, prenom="Maryse")


@pytest.fixture
def client_t(technicien):
    return logged_in(technicien)


def create_url(code: str) -> str:
    return reverse("demandes:create", args=[code])


def squeeze(text: str) -> str:
    return " ".join(text.split())


def page_text(response) -> str:
    return squeeze(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def messages_of(response) -> list[str]:
    return [squeeze(str(message)) for message in response.context["messages"]]


def field_errors(response, field: str) -> list[str]:
    return [squeeze(str(error)) for error in response.context["form"].errors.get(field, [])]


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_demande(client, code: str, **overrides):
    data = {**LOUISE, **overrides}
    return client.post(create_url(code), {k: v for k, v in data.items() if v is not None})


def make_demandes(convention, auteur, count: int, **fields) -> list[Demande]:
    """Demandes in bulk, newest first by index: demande i was sent i hours ago."""
    now = timezone.now()
    defaults = {
        "offre": Offre.objects.get(code="etude-dossier"),
        "motif": "c2s",
        "civilite": "MME",
        "prenom": "Louise",
        "date_naissance": datetime.date(1985, 3, 12),
        "departement": "60",
        "consentement": True,
    }
    demandes = []
    for i in range(count):
        values = {**defaults, "nom": f"NOM{i}", "created_at": now - datetime.timedelta(hours=i)}
        values.update(fields)
        demandes.append(
            Demande(
                reference=f"EP-2026-{next(REFERENCES):06d}",
                structure=convention.structure,
                organisme=convention.organisme,
                convention=convention,
                auteur=auteur,
                **values,
            )
        )
    return Demande.objects.bulk_create(demandes)


def references_in(response) -> list[str]:
    return [demande.reference for demande in response.context["page"].object_list]


# --- Choosing an offer ----------------------------------------------------------------------


def test_the_technicien_chooses_among_the_active_offers_of_the_convention(convention, client_t):
    convention.offres.set(Offre.objects.exclude(code="document"))

    response = client_t.get(CHOOSE_URL)

    assert response.status_code == 200
    links = re.findall(r'href="/demandes/nouvelle/([a-z-]+)/"', response.content.decode())
    assert links == ["contacter", "etude-dossier", "difficulte-acces", "rendez-vous"]
    assert "Demander un rendez-vous pour un assuré" in page_text(response)


# What each offer is for and what happens next, in the seeds' words (issue 19, item 2).
OFFER_TEXTS = {
    "contacter": "Votre question est envoyée à CPAM",
    "etude-dossier": "L'organisme étudie le dossier avec les pièces jointes",
    "difficulte-acces": "Le signalement est transmis à la Mission accompagnement santé",
    "rendez-vous": "L'organisme fixe le rendez-vous",
    "document": "Le document demandé est envoyé à l'adresse connue de l'assuré(e)",
}


def test_the_choice_page_describes_each_offer_and_what_happens_next(convention, client_t):
    response = client_t.get(CHOOSE_URL)
    html_text = response.content.decode()
    text = page_text(response)

    for code, offre in ((o.code, o) for o in Offre.objects.filter(code__in=OFFER_TEXTS)):
        # A heading per offer, its link, a description and what happens next.
        assert re.search(
            rf'<h2[^>]*><a href="/demandes/nouvelle/{code}/">{re.escape(offre.libelle)}</a></h2>',
            html.unescape(html_text),
        ), code
        assert OFFER_TEXTS[code] in text
    assert text.count("Ce qui se passe ensuite :") == len(OFFER_TEXTS)


def test_each_form_opens_with_its_own_offer_s_text(convention, client_t):
    intros = set()
    for code, expected in OFFER_TEXTS.items():
        text = page_text(client_t.get(create_url(code)))
        assert expected in text, code
        assert "Ce qui se passe ensuite :" in text
        others = [other for other_code, other in OFFER_TEXTS.items() if other_code != code]
        assert not any(other in text for other in others), code
        intros.add(expected)
    assert len(intros) == len(OFFER_TEXTS)


def test_the_document_offer_says_a_habilitee_structure_may_get_it_too(convention, client_t):
    convention.habilitee = False
    convention.save()
    assert "peut aussi le joindre à la demande" not in page_text(
        client_t.get(create_url("document"))
    )

    convention.habilitee = True
    convention.save()
    assert "peut aussi le joindre à la demande" in page_text(client_t.get(create_url("document")))


def test_a_technicien_is_told_when_contacter_is_reserved_to_gestionnaires(convention, client_t):
    convention.contact_reserve_aux_gestionnaires = True
    convention.save()

    text = page_text(client_t.get(CHOOSE_URL))

    assert (
        "« Contacter votre organisme » est réservé aux gestionnaires de "
        "votre structure par la convention : adressez-leur votre question." in text
    )


def test_a_convention_not_started_yet_refuses_new_demandes_with_its_start_date():
    debut = timezone.localdate() + datetime.timedelta(days=12)
    technicien = TechnicienFactory(structure=with_all_offres(date_debut=debut).structure)
    client = logged_in(technicien)

    for request in (
        lambda: client.get(CHOOSE_URL),
        lambda: client.get(create_url("etude-dossier")),
        lambda: post_demande(client, "etude-dossier", motif="c2s"),
    ):
        response = request()
        assert response.status_code == 302
        assert response.url == LIST_URL
        [message] = messages_of(client.get(LIST_URL))
        assert "n'a pas encore commencé : vous pourrez déposer des demandes à partir du" in message
        assert message.endswith(f"{date_format(debut, 'j F Y')}.")
    assert not Demande.objects.exists()


@pytest.mark.parametrize("code", ["document", "historique", "n-existe-pas"])
def test_an_offer_not_active_on_the_convention_is_not_found(convention, client_t, code):
    convention.offres.set(Offre.objects.exclude(code="document"))

    assert client_t.get(create_url(code)).status_code == 404
    assert post_demande(client_t, code, motif="attestation-droits").status_code == 404
    assert not Demande.objects.exists()


def test_contacter_reserved_to_gestionnaires_is_refused_to_techniciens_and_open_to_them(
    convention, client_t
):
    convention.contact_reserve_aux_gestionnaires = True
    convention.save()
    gestionnaire = GestionnaireFactory(structure=convention.structure)
    client_g = logged_in(gestionnaire)

    assert "contacter" not in client_t.get(CHOOSE_URL).content.decode()
    assert client_t.get(create_url("contacter")).status_code == 404
    assert post_demande(client_t, "contacter", commentaire="Une question").status_code == 404

    links = re.findall(
        r'href="/demandes/nouvelle/([a-z-]+)/"', client_g.get(CHOOSE_URL).content.decode()
    )
    assert links == ["contacter"]
    assert client_g.get(create_url("etude-dossier")).status_code == 404
    response = post_demande(client_g, "contacter", commentaire="Quels horaires pour l'accueil ?")
    demande = Demande.objects.get()
    assert response.url == reverse("demandes:detail", args=[demande.pk])
    assert (demande.offre.code, demande.motif, demande.auteur) == (
        "contacter",
        "question",
        gestionnaire,
    )


def test_a_gestionnaire_without_a_reserved_offer_is_told_none_is_open(convention):
    client_g = logged_in(GestionnaireFactory(structure=convention.structure))

    response = client_g.get(CHOOSE_URL)

    assert response.url == LIST_URL
    assert messages_of(client_g.get(LIST_URL)) == [
        "Aucune offre de service de la convention ne vous est ouverte."
    ]


# --- Each offer's form ----------------------------------------------------------------------

OFFER_CASES = [
    # (offer, valid values, invalid values, field in error, expected message)
    (
        "contacter",
        {"commentaire": "Quels sont les horaires de l'accueil sans rendez-vous ?"},
        {"commentaire": ""},
        "commentaire",
        "Ce champ est obligatoire.",
    ),
    (
        "etude-dossier",
        {"motif": "c2s"},
        {"motif": "autre", "commentaire": ""},
        "commentaire",
        "Précisez votre demande dans le commentaire pour ce motif.",
    ),
    (
        "difficulte-acces",
        {"motif": "renoncement-soins", "urgent": "on", "categorie_urgence": "sans-droits-soins"},
        {"motif": "c2s"},  # a motif of another offer
        "motif",
        "Sélectionnez un choix valide. c2s n’en fait pas partie.",
    ),
    (
        "rendez-vous",
        {"motif": "compte-ameli"},
        {"motif": "compte-ameli", "urgent": "on", "categorie_urgence": ""},
        "categorie_urgence",
        "Choisissez la catégorie de la situation urgente.",
    ),
    (
        "document",
        {"motif": "autre", "commentaire": "Un relevé des indemnités journalières de 2025."},
        {"motif": "autre", "commentaire": "   "},
        "commentaire",
        "Précisez votre demande dans le commentaire pour ce motif.",
    ),
]


@pytest.mark.parametrize(("code", "valid", "_invalid", "_field", "_message"), OFFER_CASES)
def test_each_offer_accepts_a_complete_form(
    client_t, convention, technicien, code, valid, _invalid, _field, _message
):
    response = post_demande(client_t, code, **valid)

    demande = Demande.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("demandes:detail", args=[demande.pk])
    assert re.fullmatch(r"EP-\d{4}-\d{6}", demande.reference)
    assert demande.offre.code == code
    assert demande.motif == valid.get("motif", "question")
    assert (demande.structure, demande.organisme, demande.convention, demande.auteur) == (
        convention.structure,
        convention.organisme,
        convention,
        technicien,
    )
    assert (demande.nom, demande.prenom, demande.date_naissance, demande.departement) == (
        "MARTIN",
        "Louise",
        datetime.date(1985, 3, 12),
        "60",
    )
    assert demande.statut == Statut.ENVOYEE and demande.consentement
    assert demande.urgent == ("urgent" in valid)
    assert demande.categorie_urgence == valid.get("categorie_urgence", "")
    assert list(demande.evenements.values_list("kind", flat=True)) == [Evenement.Kind.CREEE]
    detail = client_t.get(response.url)
    assert f"sous la référence {demande.reference}" in messages_of(detail)[0]


@pytest.mark.parametrize(("code", "_valid", "invalid", "field", "message"), OFFER_CASES)
def test_each_offer_refuses_an_incomplete_form_and_keeps_the_input(
    client_t, code, _valid, invalid, field, message
):
    response = post_demande(client_t, code, **invalid)

    assert response.status_code == 200
    assert field_errors(response, field) == [message]
    assert 'value="MARTIN"' in response.content.decode()
    assert "Le formulaire contient des erreurs" in page_text(response)
    assert not Demande.objects.exists()


def test_the_form_is_multipart_reminds_the_rules_and_asks_for_consent(client_t):
    response = client_t.get(create_url("etude-dossier"))
    html = response.content.decode()
    text = page_text(response)

    assert 'enctype="multipart/form-data"' in html
    assert "numéro de sécurité sociale (NIR)" in text and "aucune donnée de santé" in text
    assert text.index("Rappel des règles") < text.index("Commentaire")
    assert "L'assuré(e) a donné son accord" in text
    assert 'name="motif"' in html and "Complémentaire santé solidaire (C2S)" in text
    assert 'name="confirmer"' not in html  # only when a demande is under way for the person


def test_contacter_has_a_single_motif_and_no_select(client_t):
    html = client_t.get(create_url("contacter")).content.decode()

    assert 'name="motif"' not in html
    assert "Votre question" in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"consentement": None}, "consentement", "Cochez cette case : une demande ne peut"),
        ({"date_naissance": "2999-01-01"}, "date_naissance", "ne peut pas être dans le futur"),
        ({"date_naissance": "1899-12-31"}, "date_naissance", "ne peut pas être avant 1900"),
        ({"date_naissance": "31/02/1985"}, "date_naissance", "Saisissez une date valide."),
        ({"departement": "99"}, "departement", "Sélectionnez un choix valide."),
        ({"civilite": ""}, "civilite", "Ce champ est obligatoire."),
        ({"nom": ""}, "nom", "Ce champ est obligatoire."),
        ({"nom": "MAR\u200bTIN"}, "nom", "caractères invisibles ou de contrôle"),
        ({"prenom": "\u202eLouise"}, "prenom", "caractères invisibles ou de contrôle"),
        ({"commentaire": "x" * 4001}, "commentaire", "au plus 4000 caractères"),
        ({"categorie_urgence": "suivi-ame"}, "categorie_urgence", "ne s'indique que pour une"),
    ],
)
def test_the_form_explains_each_error_in_french(client_t, overrides, field, message):
    response = post_demande(client_t, "rendez-vous", motif="c2s", **overrides)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(
        response, field
    )
    assert not Demande.objects.exists()


def test_the_rules_of_the_service_are_shown_all_at_once_next_to_their_fields(client_t):
    response = post_demande(
        client_t, "document", motif="autre", urgent="on", nom="", consentement=None
    )

    assert response.status_code == 200
    assert field_errors(response, "nom") == ["Ce champ est obligatoire."]
    assert field_errors(response, "commentaire") == [
        "Précisez votre demande dans le commentaire pour ce motif."
    ]
    assert field_errors(response, "categorie_urgence") == [
        "Choisissez la catégorie de la situation urgente."
    ]
    assert field_errors(response, "consentement") == [
        "Cochez cette case : une demande ne peut être envoyée qu'avec l'accord de l'assuré(e)."
    ]
    assert not Demande.objects.exists()


def test_a_refusal_of_the_service_after_the_form_is_shown_next_to_its_field(client_t, monkeypatch):
    """What the service refuses when it creates the demande (its rules changed since the form
    checked them) is shown like the form's own errors, the input kept, nothing stored."""

    def refuse(offre, data):
        raise ValidationError({"commentaire": ["Précisez votre demande."]})

    monkeypatch.setattr(services, "validate_demande", refuse)

    response = post_demande(client_t, "rendez-vous", motif="c2s")

    assert response.status_code == 200
    assert field_errors(response, "commentaire") == ["Précisez votre demande."]
    assert 'value="MARTIN"' in response.content.decode()
    assert not Demande.objects.exists()


def test_a_french_date_is_accepted(client_t):
    post_demande(client_t, "rendez-vous", motif="c2s", date_naissance="12/03/1985")

    assert Demande.objects.get().date_naissance == datetime.date(1985, 3, 12)


# --- The NIR guard --------------------------------------------------------------------------

NIR_SHAPED = [
    "1850375123456",
    "185037512345678",
    "2850375123456",
    "1 85 03 75 123 456",
    "1 85 03 75 123 456 78",
    "2 85 03 75 123 456 78",
    "1.85.03.75.123.456.78",
    "1.85.03.75.123.456",
    "1 85 03 2A 123 456 78",
    "1 85 03 2B 123 456 78",
    "185032A12345678",
    "185032b123456",
    "1 85 03 2a 123 456",
    "NIR 1 85 03 75 123 456 78 merci",
    "son numéro est 185037512345678.",
    "(285037512345678)",
    "3 85 03 75 123 456 78",
    "4 85 03 75 123 456",
    "7 85 03 75 123 456 78",
    "8850375123456",
    "1 85 03 75 123456 78",
    "1 8503 75 123 456 78",
    # Glued to letters: found too since issue 16 (SPEC §10).
    "AB185037512345678",
]
NOT_NIR = [
    "12/03/1985",
    "12.03.1985",
    "né le 12 03 1985",
    "06 12 34 56 78",
    "0612345678",
    "06.12.34.56.78",
    "06 12 34 56 78 07 11 22 33 44",
    "0612345678 0712345678",
    "EP-2026-000123",
    "EP-2026-000123 et EP-2026-000124",
    "75015",
    "60100 Creil",
    "1 234 567,89 €",
    "123456789012",
    "1234567890123456",
    "73282932000074",
    "SIRET 732 829 320 00074",
    "5850375123456",
    "0850375123456",
    "Louise MARTIN",
    "",
]


@pytest.mark.parametrize("text", NIR_SHAPED)
def test_a_nir_shaped_number_is_recognised(text):
    assert contains_nir(text)


@pytest.mark.parametrize("text", NOT_NIR)
def test_dates_phones_references_and_other_numbers_are_not_taken_for_a_nir(text):
    assert not contains_nir(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nom", "MARTIN 185037512345678"),
        ("prenom", "Louise 1 85 03 75 123 456 78"),
        ("commentaire", "Son numéro : 1.85.03.2A.123.456.78, merci."),
        ("commentaire", "NIR 2850375123456"),
        # Spellings the guard missed before issue 16.
        ("nom", "MARTIN\u00a0185\u00a0057\u00a0800\u00a0608\u00a0436"),
        ("prenom", "Louise 1-85-05-78-006-084"),
        ("commentaire", "Son numéro : 1/85/05/78/006/084/36, merci."),
    ],
)
def test_the_form_refuses_a_nir_in_any_free_text_with_an_explanation(client_t, field, value):
    response = post_demande(client_t, "etude-dossier", motif="c2s", **{field: value})

    assert response.status_code == 200
    [error] = field_errors(response, field)
    assert error.startswith(NIR_MESSAGE)
    assert (
        "l'organisme retrouvera l'assuré avec son nom, son prénom et sa date de naissance" in error
    )
    assert not Demande.objects.exists()


@pytest.mark.parametrize(
    "text", ["Rappeler au 06 12 34 56 78 ou 0712345678", "Suite à EP-2026-000123 du 12/03/2026"]
)
def test_the_form_accepts_phones_dates_and_references_in_the_comment(client_t, text):
    response = post_demande(client_t, "etude-dossier", motif="c2s", commentaire=text)

    assert response.status_code == 302
    assert Demande.objects.get().commentaire == text


# --- Duplicates -----------------------------------------------------------------------------


def test_an_open_demande_for_the_same_person_asks_for_confirmation(client_t, convention):
    post_demande(client_t, "etude-dossier", motif="c2s")
    first = Demande.objects.get()

    response = post_demande(
        client_t, "rendez-vous", motif="compte-ameli", nom="martin", prenom=" LOUISE "
    )

    assert response.status_code == 200
    assert Demande.objects.count() == 1
    text = page_text(response)
    assert "Une demande est déjà en cours pour cette personne auprès de cet organisme" in text
    assert first.reference in text
    assert 'name="confirmer"' in response.content.decode()
    assert field_errors(response, "confirmer") == [
        "Cochez cette case pour envoyer quand même la nouvelle demande."
    ]

    response = post_demande(
        client_t, "rendez-vous", motif="compte-ameli", nom="martin", prenom="LOUISE", confirmer="on"
    )

    assert response.status_code == 302
    assert Demande.objects.count() == 2
    assert Demande.objects.exclude(pk=first.pk).get().offre.code == "rendez-vous"


def test_no_warning_for_a_closed_demande_another_person_or_another_structure(client_t, convention):
    agent = AgentFactory(organisme=convention.organisme)
    [closed] = make_demandes(convention, None, 1, nom="MARTIN")
    services.cloturer(by=agent, demande=closed, reponse="Droits ouverts.")
    make_demandes(convention, None, 1, nom="MARTIN", date_naissance=datetime.date(1986, 3, 12))
    other = with_all_offres(organisme=convention.organisme)
    make_demandes(other, None, 1, nom="MARTIN")

    response = post_demande(client_t, "etude-dossier", motif="c2s")

    assert response.status_code == 302
    assert Demande.objects.filter(structure=convention.structure).count() == 3


# --- Attachments ----------------------------------------------------------------------------


def test_a_real_pdf_and_png_are_stored_and_downloaded_by_the_structure_only(
    client_t, convention, attachments_dir
):
    response = post_demande(
        client_t,
        "etude-dossier",
        motif="c2s",
        pieces=[
            upload("Relevé d'identité (2).PDF", PDF, "application/pdf"),
            upload("photo.png", PNG, "image/png"),
        ],
    )

    demande = Demande.objects.get()
    assert response.url == reverse("demandes:detail", args=[demande.pk])
    pdf, png = demande.pieces.order_by("pk")
    assert (pdf.nom, pdf.type_mime, pdf.taille) == (
        "Releve_d_identite_2.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (png.nom, png.type_mime) == ("photo.png", "image/png")
    assert pdf.evenement.kind == Evenement.Kind.CREEE
    # The PDF as it was sent; the image as Pillow encodes its pixels again (issue 16, item 6).
    stored_pdf, stored_png = (Path(piece.fichier.path).read_bytes() for piece in (pdf, png))
    assert stored_pdf == PDF
    assert png.taille == len(stored_png)
    assert pixels(stored_png) == pixels(PNG)
    assert len(stored_files(attachments_dir)) == 2

    detail = client_t.get(response.url).content.decode()
    assert (
        reverse("demandes:piece", args=[pdf.pk]) in detail and "Releve_d_identite_2.pdf" in detail
    )

    colleague = logged_in(TechnicienFactory(structure=convention.structure))
    for client in (client_t, colleague):
        download = client.get(reverse("demandes:piece", args=[pdf.pk]))
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF
        assert download["Content-Type"] == "application/pdf"
        assert 'filename="Releve_d_identite_2.pdf"' in download["Content-Disposition"]

    stranger = logged_in(TechnicienFactory(structure=with_all_offres().structure))
    assert stranger.get(reverse("demandes:piece", args=[png.pk])).status_code == 404


def test_a_renamed_executable_is_refused_and_nothing_is_stored(client_t, attachments_dir):
    response = post_demande(
        client_t,
        "etude-dossier",
        motif="c2s",
        pieces=[upload("bon.pdf", PDF, "application/pdf"), upload("x.pdf", ELF, "application/pdf")],
    )

    assert response.status_code == 200
    assert field_errors(response, "pieces") == [
        "Le fichier « x.pdf » n'est ni un PDF, ni une image JPEG ou PNG (son contenu a été "
        "vérifié, pas seulement son nom)."
    ]
    assert "sélectionnez-les de nouveau" in page_text(response)
    assert not Demande.objects.exists()
    assert not PieceJointe.objects.exists()
    assert stored_files(attachments_dir) == []


def test_an_oversize_file_is_refused(client_t, settings, attachments_dir):
    settings.ATTACHMENTS_MAX_SIZE_MB = 1
    big = PDF + b"0" * (1_153_434 - len(PDF))  # 1.1 Mo

    response = post_demande(
        client_t, "etude-dossier", motif="c2s", pieces=[upload("gros.pdf", big, "application/pdf")]
    )

    assert field_errors(response, "pieces") == ["Le fichier « gros.pdf » dépasse 1 Mo."]
    assert not Demande.objects.exists() and stored_files(attachments_dir) == []


def test_six_files_are_refused(client_t, attachments_dir):
    pieces = [upload(f"page{i}.png", PNG, "image/png") for i in range(6)]

    response = post_demande(client_t, "etude-dossier", motif="c2s", pieces=pieces)

    assert field_errors(response, "pieces") == ["Vous pouvez joindre 5 fichiers au plus."]
    assert not Demande.objects.exists() and stored_files(attachments_dir) == []


def test_five_files_are_accepted(client_t, attachments_dir):
    pieces = [upload(f"page{i}.png", PNG, "image/png") for i in range(5)]

    assert post_demande(client_t, "etude-dossier", motif="c2s", pieces=pieces).status_code == 302
    assert PieceJointe.objects.count() == 5 and len(stored_files(attachments_dir)) == 5


def test_a_pdf_html_polyglot_is_refused_next_to_the_field_and_nothing_is_stored(
    client_t, attachments_dir
):
    polyglot = PDF + b"<html><script>alert(document.cookie)</script></html>"

    response = post_demande(
        client_t,
        "etude-dossier",
        motif="c2s",
        pieces=[upload("bon.pdf", PDF, "application/pdf"), upload("avis.pdf", polyglot)],
    )

    assert response.status_code == 200
    assert field_errors(response, "pieces") == [
        "Le fichier « avis.pdf » est refusé : il contient autre chose que le document (du code de "
        "page web, ou des données après la fin du PDF). Enregistrez-le de nouveau au format PDF, "
        "puis joignez-le."
    ]
    assert "Louise" in response.content.decode()  # what was typed is kept
    assert not Demande.objects.exists() and stored_files(attachments_dir) == []


def test_a_phone_photo_is_stored_upright_without_its_exif_and_gps(client_t, attachments_dir):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # taken upright: to be turned 90° clockwise
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (44.0, 50.0, 12.0)}
    )
    photo = image_file("JPEG", size=(40, 30), exif=exif)

    post_demande(
        client_t, "etude-dossier", motif="c2s", pieces=[upload("photo.jpg", photo, "image/jpeg")]
    )

    [piece] = PieceJointe.objects.all()
    with Image.open(piece.fichier.path) as stored:
        assert (stored.format, stored.size) == ("JPEG", (30, 40))
        assert not stored.getexif() and "exif" not in stored.info
    assert b"GPS" not in Path(piece.fichier.path).read_bytes()
    assert piece.taille == Path(piece.fichier.path).stat().st_size


def test_in_production_without_antivirus_the_page_refuses_files_and_says_why(
    client_t, settings, attachments_dir
):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    settings.UPLOADS_WITHOUT_ANTIVIRUS = False

    response = post_demande(
        client_t, "etude-dossier", motif="c2s", pieces=[upload("avis.pdf", PDF, "application/pdf")]
    )

    assert field_errors(response, "pieces") == [
        "Le fichier « avis.pdf » ne peut pas être reçu : aucun antivirus n'est en service pour "
        "l'analyser. Signalez-le à l'administrateur du portail."
    ]
    assert not Demande.objects.exists() and stored_files(attachments_dir) == []
    # Without a file, the demande goes.
    assert post_demande(client_t, "etude-dossier", motif="c2s").status_code == 302


# --- "Mes demandes" -------------------------------------------------------------------------


def test_the_history_shows_the_structures_demandes_with_the_selected_organisme(
    convention, technicien, client_t
):
    colleague = TechnicienFactory(
        structure=convention.structure, prenom="Victor", nom_patronymique="Chausson"
    )
    mine = make_demandes(convention, technicien, 2)
    theirs = make_demandes(
        convention, colleague, 1, created_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    orphan = make_demandes(
        convention, None, 1, created_at=timezone.now() - datetime.timedelta(days=3)
    )
    # Not shown: another structure's, and the structure's with another organisme.
    make_demandes(with_all_offres(organisme=convention.organisme), None, 2)
    make_demandes(with_all_offres(structure=convention.structure), technicien, 2)

    response = client_t.get(LIST_URL)

    assert references_in(response) == [d.reference for d in [*theirs, *mine, *orphan]]
    text = page_text(response)
    assert "4 demandes" in text
    assert "Victor CHAUSSON" in text and "Maryse PICHON" in text and "compte supprimé" in text
    gestionnaire = logged_in(
        GestionnaireFactory(structure=convention.structure), convention.organisme
    )
    assert references_in(gestionnaire.get(LIST_URL)) == references_in(response)


def test_the_history_filters_by_offer_status_urgency_and_dates(convention, technicien, client_t):
    now = timezone.now()
    old = make_demandes(convention, technicien, 1, created_at=now - datetime.timedelta(days=40))
    urgent = make_demandes(convention, technicien, 1, urgent=True, categorie_urgence="suivi-ame")
    rdv = make_demandes(
        convention, technicien, 1, offre=Offre.objects.get(code="rendez-vous"), motif="ame"
    )
    complement = make_demandes(convention, technicien, 1, statut=Statut.COMPLEMENT_DEMANDE)
    everything = [d.reference for d in [*urgent, *rdv, *complement, *old]]
    today = timezone.localdate()
    # The day it was sent, in Paris: 40 days ago may be across a change of daylight-saving time.
    forty_days_ago = timezone.localtime(old[0].created_at).date().isoformat()

    def listed(**params):
        response = client_t.get(LIST_URL, params)
        assert response.status_code == 200
        return sorted(references_in(response))

    assert listed() == sorted(everything)
    assert listed(offre="rendez-vous") == [rdv[0].reference]
    assert listed(statut="complement_demande") == [complement[0].reference]
    assert listed(urgent="oui") == [urgent[0].reference]
    assert len(listed(urgent="non")) == 3
    assert listed(au=forty_days_ago) == [old[0].reference]
    assert listed(du=forty_days_ago, au=forty_days_ago) == [old[0].reference]
    assert len(listed(du=(today - datetime.timedelta(days=1)).isoformat())) == 3
    assert listed(offre="rendez-vous", statut="cloturee") == []
    # A wrong value is explained and ignored.
    response = client_t.get(LIST_URL, {"du": "pas une date", "statut": "inconnu"})
    assert len(references_in(response)) == 4
    assert "Saisissez une date valide." in page_text(response)


def test_the_history_searches_names_and_references_whatever_the_case(
    convention, technicien, client_t
):
    [dupont] = make_demandes(convention, technicien, 1, nom="DUPONT", prenom="Jeanne")
    [durand] = make_demandes(convention, technicien, 1, nom="DURAND", prenom="Paul")
    make_demandes(convention, technicien, 1, nom="LEROY", prenom="Anne")

    def search(q):
        return references_in(client_t.get(LIST_URL, {"q": q}))

    assert search("dupont") == [dupont.reference]
    assert search("PAUL") == [durand.reference]
    assert sorted(search("du")) == sorted([dupont.reference, durand.reference])
    assert search("jeanne dupont") == [dupont.reference]
    assert search(dupont.reference.lower()) == [dupont.reference]
    assert search("personne") == []
    assert "Aucune demande ne correspond à ces critères." in page_text(
        client_t.get(LIST_URL, {"q": "personne"})
    )


def test_the_history_is_paginated_by_20_and_keeps_the_filters(convention, technicien, client_t):
    demandes = make_demandes(convention, technicien, 45, statut=Statut.EN_COURS)
    make_demandes(convention, technicien, 3)

    first = client_t.get(LIST_URL, {"statut": "en_cours"})
    third = client_t.get(LIST_URL, {"statut": "en_cours", "page": 3})

    assert references_in(first) == [d.reference for d in demandes[:20]]
    assert references_in(third) == [d.reference for d in demandes[40:]]
    assert "Page 1 sur 3" in page_text(first)
    html = first.content.decode()
    assert 'href="?statut=en_cours&amp;page=2"' in html
    assert 'href="?statut=en_cours&amp;page=2"' in third.content.decode()


@pytest.mark.parametrize("search", [{}, {"q": "nom"}], ids=["list", "search"])
def test_a_page_out_of_range_shows_the_last_and_a_wrong_number_the_first(
    convention, technicien, client_t, search
):
    demandes = make_demandes(convention, technicien, 25)

    second = client_t.get(LIST_URL, {**search, "page": 2})
    past_the_end = client_t.get(LIST_URL, {**search, "page": 7})
    before_the_start = client_t.get(LIST_URL, {**search, "page": 0})
    wrong = client_t.get(LIST_URL, {**search, "page": "dernière"})

    assert references_in(second) == [d.reference for d in demandes[20:]]
    assert references_in(past_the_end) == [d.reference for d in demandes[20:]]
    assert references_in(before_the_start) == [d.reference for d in demandes[20:]]  # as Django
    assert "Page 2 sur 2" in page_text(past_the_end)
    assert references_in(wrong) == [d.reference for d in demandes[:20]]
    assert "25 demandes" in page_text(wrong)


def test_a_search_with_no_result_shows_an_empty_first_page(convention, technicien, client_t):
    make_demandes(convention, technicien, 3)

    response = client_t.get(LIST_URL, {"q": "personne", "page": 2})

    assert references_in(response) == []
    assert "Aucune demande ne correspond à ces critères." in page_text(response)  # not "0 demande"


# Every page of bench/pages.py: history (first page, last page, filters, search), detail, form.
PAGES = {
    "list": LIST_URL,
    "deep": f"{LIST_URL}?page={{last}}",
    "filters": f"{LIST_URL}?statut=envoyee&offre=etude-dossier&urgent=non&du=2020-01-01",
    "search": f"{LIST_URL}?q=NOM1",
    "create": create_url("rendez-vous"),
}


@pytest.mark.parametrize("page", [*PAGES, "detail"])
def test_pages_make_the_same_number_of_queries_with_5_and_100_demandes(page):
    counts = []
    for count in (5, 100):
        convention = with_all_offres()
        technicien = TechnicienFactory(structure=convention.structure)
        demandes = make_demandes(convention, technicien, count)
        make_demandes(convention, None, count)  # deleted accounts
        demande = demandes[0]
        # The detail's timeline grows too: one event with a file for each demande.
        evenements = Evenement.objects.bulk_create(
            Evenement(
                demande=demande,
                kind=Evenement.Kind.MESSAGE,
                message=f"Message {i}",
                auteur=technicien if i % 2 else None,
                de_l_organisme=i % 3 == 0,
            )
            for i in range(count)
        )
        PieceJointe.objects.bulk_create(
            PieceJointe(
                demande=demande,
                evenement=evenement,
                sens=PieceJointe.Sens.ENTRANTE,
                fichier=f"demandes/test/{i}.pdf",
                nom=f"piece{i}.pdf",
                type_mime="application/pdf",
                taille=100,
            )
            for i, evenement in enumerate(evenements)
        )
        client = logged_in(technicien)
        url = PAGES.get(page) or reverse("demandes:detail", args=[demande.pk])
        listed = Demande.objects.filter(convention=convention).count()
        url = url.format(last=math.ceil(listed / LIST_PAGE_SIZE))  # the deep page: the last
        client.get(url)
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(context.captured_queries))

    assert counts[0] == counts[1], counts


# --- A demande's page, the complement -------------------------------------------------------


@pytest.fixture
def agent(convention):
    return AgentFactory(organisme=convention.organisme)


def test_the_detail_shows_the_person_the_offer_and_the_timeline(client_t, convention, agent):
    post_demande(
        client_t,
        "rendez-vous",
        motif="capital-deces",
        urgent="on",
        categorie_urgence="ij-non-payees",
        commentaire="Disponible le matin.",
    )
    demande = Demande.objects.get()
    services.prendre_en_charge(by=agent, demande=demande)
    services.cloturer(by=agent, demande=demande, reponse="Rendez-vous fixé le 3 juin à 9 h.")

    response = client_t.get(reverse("demandes:detail", args=[demande.pk]))
    text = page_text(response)

    assert f"Demande {demande.reference}" in text
    assert "Madame MARTIN Louise" in text and "12/03/1985" in text and "60 — Oise" in text
    assert "Demander un rendez-vous pour un assuré" in text and "Capital décès" in text
    assert "Indemnités journalières non payées depuis plus de 30 jours" in text
    assert "Disponible le matin." in text
    assert f"Réponse de {convention.organisme.nom}" in text
    assert "Rendez-vous fixé le 3 juin à 9 h." in text
    assert "Statut : Clôturée" in text
    assert "Demande envoyée — Maryse PICHON" in text
    assert f"En cours de traitement — {convention.organisme.nom}" in text
    assert 'name="message"' not in response.content.decode()


def test_the_detail_shows_a_deleted_account(client_t, convention):
    [demande] = make_demandes(convention, None, 1)
    Evenement.objects.create(demande=demande, kind=Evenement.Kind.CREEE, auteur=None)

    text = page_text(client_t.get(reverse("demandes:detail", args=[demande.pk])))

    assert "Par compte supprimé" in text
    assert "Demande envoyée — compte supprimé" in text


def test_the_technicien_answers_a_complement_with_a_file(
    client_t, convention, agent, attachments_dir
):
    post_demande(client_t, "etude-dossier", motif="c2s")
    demande = Demande.objects.get()
    services.demander_complement(by=agent, demande=demande, message="Joignez l'avis d'imposition.")
    detail_url = reverse("demandes:detail", args=[demande.pk])
    complement_url = reverse("demandes:complement", args=[demande.pk])

    page = client_t.get(detail_url)
    assert "Joignez l'avis d'imposition." in page_text(page)
    assert f'action="{complement_url}"' in page.content.decode()

    response = client_t.post(
        complement_url,
        {"message": "Voici l'avis.", "pieces": [upload("avis.pdf", PDF, "application/pdf")]},
    )

    assert response.url == detail_url
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_FOURNI
    evenement = demande.evenements.order_by("-pk").first()
    assert (evenement.statut, evenement.message, evenement.de_l_organisme) == (
        Statut.COMPLEMENT_FOURNI,
        "Voici l'avis.",
        False,
    )
    [piece] = evenement.pieces.all()
    assert (piece.nom, piece.sens) == ("avis.pdf", PieceJointe.Sens.ENTRANTE)
    assert [path.read_bytes() for path in stored_files(attachments_dir)] == [PDF]
    after = client_t.get(detail_url)
    assert messages_of(after) == [f"Votre complément est envoyé à {convention.organisme.nom}."]
    assert 'name="message"' not in after.content.decode()

    again = client_t.post(complement_url, {"message": "Encore un mot."})
    assert messages_of(client_t.get(again.url)) == [
        "L'organisme n'attend pas de complément pour cette demande."
    ]
    assert demande.evenements.count() == 3


def test_the_question_of_the_fund_is_shown_with_the_reply_form(
    client_t, technicien, convention, agent
):
    # Issue 19, item 1: not 1,000 px lower in the timeline, but next to the box to answer in.
    post_demande(client_t, "etude-dossier", motif="c2s")
    demande = Demande.objects.get()
    services.demander_complement(by=agent, demande=demande, message="Une première question.")
    services.fournir_complement(by=technicien, demande=demande, message="Réponse.")
    services.demander_complement(by=agent, demande=demande, message="Joignez l'avis d'imposition.")

    content = client_t.get(reverse("demandes:detail", args=[demande.pk])).content.decode()

    card = re.search(r'<section class="card complement".*?</section>', content, re.S).group(0)
    assert "Joignez l'avis d'imposition." in html.unescape(card)
    assert "Une première question." not in card  # the question asked now, not an older one
    assert 'name="message"' in card
    assert "chronologie ci-dessous" not in card


def test_a_complement_with_a_scripted_pdf_is_refused_and_nothing_changes(
    client_t, convention, agent, attachments_dir
):
    [demande] = make_demandes(convention, None, 1)
    services.demander_complement(by=agent, demande=demande, message="Joignez l'avis.")
    scripted = pdf_document(
        lambda pdf: setattr(
            pdf.Root,
            "OpenAction",
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")),
        )
    )

    response = client_t.post(
        reverse("demandes:complement", args=[demande.pk]),
        {"message": "Voici l'avis.", "pieces": [upload("avis.pdf", scripted, "application/pdf")]},
    )

    assert response.status_code == 200
    [shown] = [squeeze(str(e)) for e in response.context["complement_form"].errors["pieces"]]
    assert shown.startswith(
        "Le fichier « avis.pdf » est refusé : ce PDF contient du contenu actif (un script"
    )
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_DEMANDE
    assert stored_files(attachments_dir) == []


@pytest.mark.parametrize(
    ("message", "error"),
    [("", "Ce champ est obligatoire."), ("NIR : 2 85 03 75 123 456 78", NIR_MESSAGE)],
)
def test_a_complement_needs_a_message_without_nir(client_t, convention, agent, message, error):
    [demande] = make_demandes(convention, None, 1)
    services.demander_complement(by=agent, demande=demande, message="Précisez la situation.")

    response = client_t.post(
        reverse("demandes:complement", args=[demande.pk]), {"message": message}
    )

    assert response.status_code == 200
    [shown] = [squeeze(str(e)) for e in response.context["complement_form"].errors["message"]]
    assert shown.startswith(error)
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_DEMANDE


def test_another_structure_finds_neither_the_demande_nor_its_complement_nor_its_files(
    client_t, convention, agent
):
    post_demande(client_t, "etude-dossier", motif="c2s", pieces=[upload("a.png", PNG, "image/png")])
    demande = Demande.objects.get()
    services.demander_complement(by=agent, demande=demande, message="Précisez.")
    stranger = logged_in(TechnicienFactory(structure=with_all_offres().structure))

    assert stranger.get(reverse("demandes:detail", args=[demande.pk])).status_code == 404
    response = stranger.post(reverse("demandes:complement", args=[demande.pk]), {"message": "x"})
    assert response.status_code == 404
    piece = demande.pieces.get()
    assert stranger.get(reverse("demandes:piece", args=[piece.pk])).status_code == 404
    assert stranger.get(LIST_URL).context["page"].paginator.count == 0
    demande.refresh_from_db()
    assert demande.statut == Statut.COMPLEMENT_DEMANDE


# --- Menu -----------------------------------------------------------------------------------


def test_an_empty_history_says_what_to_do_next_and_counts_nothing(client_t, convention):
    """Issue 19, item 8: no "0 demandes"; the technicien is offered to make one, the
    gestionnaire told what will show there."""
    text = page_text(client_t.get(LIST_URL))

    assert "0 demande" not in text
    assert "Aucune demande pour l'instant. Faire une nouvelle demande" in text
    assert f'<a href="{CHOOSE_URL}">Faire une nouvelle demande</a>' in (
        client_t.get(LIST_URL).content.decode()
    )

    gestionnaire = logged_in(GestionnaireFactory(structure=convention.structure))
    text = page_text(gestionnaire.get(LIST_URL))
    assert "0 demande" not in text
    assert "Les demandes que les techniciens de votre structure envoient à cet organisme" in text

    filtered = page_text(client_t.get(LIST_URL, {"q": "PERSONNE"}))
    assert "0 demande" not in filtered
    assert "Aucune demande ne correspond à ces critères." in filtered


def test_the_menu_offers_new_demandes_to_techniciens_and_the_history_to_every_partner(
    client_t, convention
):
    gestionnaire = logged_in(GestionnaireFactory(structure=convention.structure))

    technicien_menu = client_t.get(LIST_URL).content.decode()
    gestionnaire_menu = gestionnaire.get(LIST_URL).content.decode()

    assert f'href="{CHOOSE_URL}">Nouvelle demande' in technicien_menu
    assert f'href="{LIST_URL}" aria-current="page">Mes demandes' in technicien_menu
    assert f'href="{CHOOSE_URL}">Nouvelle demande' not in gestionnaire_menu
    # The gestionnaire's is the structure's history (issue 19, item 9).
    assert f'href="{LIST_URL}" aria-current="page">Demandes de la structure' in gestionnaire_menu


def test_an_agent_cannot_use_the_partner_pages(convention):
    agent = AgentFactory(organisme=convention.organisme)
    client = Client()
    log_in_verified(client, agent)

    assert client.get(LIST_URL).status_code == 403
    assert client.get(CHOOSE_URL).status_code == 403


def test_a_partner_without_a_selected_organisme_is_sent_to_the_selection(technicien, convention):
    client = Client()
    client.force_login(technicien)

    response = client.get(LIST_URL)

    assert response.url == reverse("accounts:organisme_selection") + "?next=%2Fdemandes%2F"


def test_the_organisme_of_another_convention_is_not_mixed_in(technicien, convention):
    second = with_all_offres(structure=technicien.structure, organisme=OrganismeFactory())
    client = logged_in(technicien, second.organisme)

    post_demande(client, "etude-dossier", motif="c2s")

    demande = Demande.objects.get()
    assert (demande.organisme, demande.convention) == (second.organisme, second)
