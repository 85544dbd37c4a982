"""Issue 19, item 9: the portal says the same thing the same way everywhere — one select
placeholder wording ("Sélectionner …", the seed's), statuses written alike in the list and its
filter, "Demandes de la structure" for the gestionnaire's structure-wide history, the
duplicate-demande warning said once, French typography in dialogs, and the password rule said
next to the first password field, with "Afficher le mot de passe"."""

import datetime
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts.forms import OrganismeSelectionForm, SetPasswordForm, TechnicienCreationForm
from demandes.forms import DemandeFilterForm, DemandeForm
from demandes.models import Statut
from inscriptions.forms import ContactForm, PreInscriptionForm
from tests.factories import GestionnaireFactory, TechnicienFactory
from tests.helpers import log_in_verified, make_demande, with_all_offres

pytestmark = pytest.mark.django_db

BORN = datetime.date(1985, 3, 12)
PASSWORD_RULE = (
    "Au moins 12 caractères ; ni un mot de passe courant, ni uniquement des chiffres, ni proche "
    "de vos prénom, nom, identifiant ou adresse e-mail."
)


def logged_in(user) -> Client:
    client = Client()
    log_in_verified(client, user)
    client.get(reverse("accounts:organisme_selection"))
    return client


def text_of(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def convention():
    return with_all_offres()


def placeholders(form) -> dict[str, str]:
    """The label of the empty first option of each select of the form."""
    found = {}
    for name, field in form.fields.items():
        choices = list(getattr(field, "choices", []))
        if choices and choices[0][0] == "":
            found[name] = str(choices[0][1])
    return found


def test_every_select_placeholder_of_the_portal_says_selectionner(convention):
    organisme = convention.organisme
    forms = [
        DemandeForm(
            offre=convention.offres.get(code="rendez-vous"),
            structure=convention.structure,
            organisme=organisme,
        ),
        TechnicienCreationForm(structure=convention.structure),
        OrganismeSelectionForm(choices=[]),
        PreInscriptionForm(),
        ContactForm(),
    ]
    seen = {}
    for form in forms:
        for name, label in placeholders(form).items():
            seen[f"{type(form).__name__}.{name}"] = label
    assert seen == {
        "DemandeForm.civilite": "Sélectionner la civilité",
        "DemandeForm.departement": "Sélectionner le département",
        "DemandeForm.motif": "Sélectionner le motif",
        "DemandeForm.categorie_urgence": "Sélectionner une catégorie",
        "TechnicienCreationForm.civilite": "Sélectionner la civilité",
        "OrganismeSelectionForm.organisme": "Sélectionner un organisme",
        "PreInscriptionForm.civilite": "Sélectionner la civilité",
        "PreInscriptionForm.organisme": "Sélectionner un organisme",
        "ContactForm.organisme": "Sélectionner un organisme",
        "ContactForm.motif": "Sélectionner l'objet",
    }


def test_statuses_are_written_alike_in_the_list_and_in_its_filter(convention):
    technicien = TechnicienFactory(structure=convention.structure)
    make_demande(technicien, convention)

    html = logged_in(technicien).get(reverse("demandes:list")).content.decode()

    options = dict(DemandeFilterForm().fields["statut"].choices)
    assert options[Statut.ENVOYEE] == "Envoyée"
    assert re.search(r'<option value="envoyee">Envoyée</option>', html)
    assert re.search(r'<span class="statut statut-envoyee">Envoyée</span>', html)
    assert [str(label) for value, label in list(options.items())[1:]] == [
        label[0].upper() + label[1:] for label in Statut.labels
    ]


def test_the_gestionnaire_s_history_is_the_structure_s_and_the_technicien_s_is_theirs(
    convention,
):
    gestionnaire = logged_in(GestionnaireFactory(structure=convention.structure))
    technicien = logged_in(TechnicienFactory(structure=convention.structure))
    url = reverse("demandes:list")

    html = gestionnaire.get(url).content.decode()
    assert "<h1>Demandes de la structure</h1>" in html
    assert f'<a href="{url}" aria-current="page">Demandes de la structure</a>' in html
    assert "Mes demandes" not in html

    html = technicien.get(url).content.decode()
    assert "<h1>Mes demandes</h1>" in html
    assert "Demandes de la structure" not in html


def test_references_are_never_broken_at_their_hyphen(convention):
    technicien = TechnicienFactory(structure=convention.structure)
    demande = make_demande(technicien, convention)
    client = logged_in(technicien)

    for url in (reverse("demandes:list"), reverse("demandes:detail", args=[demande.pk])):
        html = client.get(url).content.decode()
        assert f'<span class="reference">{demande.reference}</span>' in html, url


def test_the_stylesheet_keeps_references_whole_and_textareas_in_the_text_font():
    from pathlib import Path

    from django.contrib.staticfiles import finders

    css = Path(finders.find("css/espace-partenaires.css")).read_text(encoding="utf-8")
    block = css[css.index("/* Issue 19, items 2–4 and 9") :]
    assert re.search(r"\.reference \{[^}]*white-space: nowrap", block)
    assert re.search(r"textarea \{[^}]*font: inherit", block)


def test_the_duplicate_warning_says_it_once(convention):
    technicien = TechnicienFactory(structure=convention.structure)
    make_demande(technicien, convention, nom="MARTIN", prenom="Louise", date_naissance=BORN)
    client = logged_in(technicien)

    response = client.post(
        reverse("demandes:create", args=["rendez-vous"]),
        {
            "civilite": "MME",
            "nom": "Martin",
            "prenom": "Louise",
            "date_naissance": "1985-03-12",
            "departement": "60",
            "motif": "compte-ameli",
            "consentement": "on",
        },
    )

    text = text_of(response)
    assert text.count("déjà en cours") == 1
    assert response.context["form"].errors["confirmer"] == [
        "Cochez cette case pour envoyer quand même la nouvelle demande."
    ]


def test_dialog_questions_keep_their_question_mark_on_the_line(convention):
    gestionnaire = logged_in(GestionnaireFactory(structure=convention.structure))
    TechnicienFactory.create_batch(2, structure=convention.structure)

    html = gestionnaire.get(reverse("accounts:techniciens")).content.decode()

    assert "ce compte\u202f?" in html
    assert "ce compte ?" not in html


def test_the_password_rule_is_said_next_to_the_first_field():
    form = SetPasswordForm(TechnicienFactory.build())

    assert str(form.fields["new_password1"].help_text) == PASSWORD_RULE
    assert str(form.fields["new_password2"].help_text) == (
        "Saisissez le même mot de passe, pour vérification."
    )


def test_a_weak_password_is_refused_next_to_the_first_field():
    form = SetPasswordForm(
        TechnicienFactory(), {"new_password1": "Court-1", "new_password2": "Court-1"}
    )

    assert not form.is_valid()
    assert "new_password2" not in form.errors
    assert form.errors["new_password1"] == [
        "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères."
    ]


def test_different_passwords_are_refused_next_to_the_confirmation():
    form = SetPasswordForm(
        TechnicienFactory(),
        {"new_password1": "Cerisier-Bleu-71", "new_password2": "Cerisier-Bleu-72"},
    )

    assert not form.is_valid()
    assert list(form.errors) == ["new_password2"]


def test_the_password_change_page_offers_to_show_the_password(convention):
    client = logged_in(TechnicienFactory(structure=convention.structure))

    html = client.get(reverse("accounts:password_change")).content.decode()

    assert PASSWORD_RULE in unescape(html)
    # Shown by the script only: without JavaScript the fields stay password fields.
    assert re.search(r'<div class="show-password" hidden>', html)
    assert "Afficher le mot de passe" in html
    assert "js/show-password.js" in html
