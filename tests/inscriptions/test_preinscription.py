"""Pré-inscription of a structure (SPEC §8, issue 9): the public page and what it records.

Nothing is granted by a submission: it is a pending request for an agent of the organisme.
"""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from inscriptions.models import PreInscription, Statut
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    valid_siret,
)

from .conftest import solve_anti_robot, spaced

pytestmark = pytest.mark.django_db

URL = "/pre-inscription/"


def submit(client, data: dict, *, solved: bool = True, **extra):
    payload = {**data}
    if solved:
        payload["captcha"] = solve_anti_robot(client)
    return client.post(URL, payload, **extra)


def field_errors(response, name: str) -> list[str]:
    return response.context["form"].errors.get(name, [])


def test_the_page_is_public_and_explains_the_anti_robot_check(client):
    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Pré-inscription d'une structure partenaire" in html
    assert "<altcha-widget" in html and 'challenge="/altcha/challenge/"' in html
    assert 'language="fr"' in html
    # Without JavaScript, the person is told why and where else to turn.
    assert "<noscript>" in html and "a besoin de JavaScript" in html
    assert "enregistrer directement votre structure" in html
    # The widget's stylesheet (nonce) and its workers (blob:) are allowed here only.
    policy = response["Content-Security-Policy"]
    assert "worker-src 'self' blob:" in policy
    assert "style-src 'self' 'nonce-" in policy
    assert "blob:" not in client.get(reverse("accounts:login"))["Content-Security-Policy"]


def test_a_valid_submission_records_a_pending_request_and_grants_nothing(
    client, form_data, organisme, convention, agent, django_capture_on_commit_callbacks
):
    other_agent = AgentFactory(organisme=OrganismeFactory(), email="autre@cpam.example")
    accounts_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, form_data)

    assert response.status_code == 302
    assert response["Location"] == reverse("inscriptions:preinscription_envoyee")
    [preinscription] = PreInscription.objects.all()
    assert preinscription.statut == Statut.EN_ATTENTE
    assert preinscription.convention == convention
    assert preinscription.organisme == organisme
    # Stored as the account rules store them.
    assert preinscription.siret == convention.structure.siret
    assert preinscription.nom_patronymique == "PICHON"
    assert preinscription.prenom == "Maryse"
    assert preinscription.telephone == "07.00.00.00.00"
    assert preinscription.structure_telephone == "03.44.00.00.00"
    assert preinscription.email == "maryse.pichon@ccas-creil.example"
    assert preinscription.cgu_version
    assert not preinscription.siret_differs
    assert User.objects.count() == accounts_before  # nothing until an agent validates

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {"maryse.pichon@ccas-creil.example", agent.email}
    assert other_agent.email not in by_recipient
    acknowledgement = by_recipient["maryse.pichon@ccas-creil.example"]
    assert acknowledgement.subject == "Espace Partenaires : votre pré-inscription est bien reçue"
    assert "CCAS de Creil" in acknowledgement.body
    assert "CONV-60-0042" in acknowledgement.body or "conv-60-0042" in acknowledgement.body
    assert "CPAM DE L'OISE" in acknowledgement.body
    notification = by_recipient[agent.email]
    assert notification.subject == "Espace Partenaires : pré-inscription de CCAS de Creil à valider"
    change_url = reverse("admin:inscriptions_preinscription_change", args=[preinscription.pk])
    assert change_url in notification.body
    assert "Attention" not in notification.body


def test_without_an_active_agent_the_referent_is_notified(
    client, form_data, organisme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, form_data)

    assert {message.to[0] for message in mail.outbox} == {
        "maryse.pichon@ccas-creil.example",
        "referent@cpam-oise.example",
    }


def test_the_confirmation_page_explains_the_next_steps(client):
    response = client.get(reverse("inscriptions:preinscription_envoyee"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "attend la validation de votre organisme" in html
    assert "Bienvenue sur Espace Partenaires" in html and "Créer mon mot de passe" in html
    assert "valable 72 heures" in html
    assert reverse("accounts:identifiant_oublie") in html
    assert reverse("accounts:password_reset") in html
    assert reverse("inscriptions:contact") in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siret", "123 456 789 00011", "Ce numéro SIRET n'est pas valide"),
        ("siret", "1234", "Le SIRET comporte 14 chiffres."),
        ("code_postal", "6010", "Le code postal comporte 5 chiffres."),
        ("structure_telephone", "03 44", "Saisissez un numéro de téléphone à 10 chiffres"),
        ("telephone", "7000000000", "Saisissez un numéro de téléphone à 10 chiffres"),
        ("prenom", "Maryse2", "Caractères acceptés : lettres"),
        ("nom_patronymique", "", "Renseignez au moins un des deux noms"),
        ("email", "maryse.pichon", "Saisissez une adresse de courriel valide."),
        ("fonction", "", "Ce champ est obligatoire."),
        ("organisme", "", "Ce champ est obligatoire."),
        ("cgu", "", "Cochez la case pour accepter les conditions."),
    ],
)
def test_an_invalid_field_is_refused_in_french_next_to_it_and_nothing_is_saved(
    client, form_data, field, value, message, django_capture_on_commit_callbacks
):
    data = {**form_data, field: value}
    if field == "cgu":
        del data["cgu"]

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, data)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field))
    assert "Le formulaire contient des erreurs" in response.content.decode()
    assert not PreInscription.objects.exists()
    assert mail.outbox == []


def test_the_input_is_kept_when_the_form_is_refused(client, form_data):
    response = submit(client, {**form_data, "siret": "123"})

    html = response.content.decode()
    assert 'value="CCAS de Creil"' in html
    assert 'value="Maryse.Pichon@ccas-creil.example"' in html or (
        'value="maryse.pichon@ccas-creil.example"' in html
    )
    assert 'value="conv-60-0042"' in html or 'value=" conv-60-0042 "' in html


def test_without_the_anti_robot_check_nothing_is_recorded(client, form_data):
    response = submit(client, form_data, solved=False)

    assert response.status_code == 200
    assert field_errors(response, "captcha") == [
        "Cochez la case « Je ne suis pas un robot » et attendez la fin de la vérification avant "
        "d'envoyer le formulaire."
    ]
    assert not PreInscription.objects.exists()


def test_a_forged_or_reused_anti_robot_solution_is_refused(client, form_data):
    payload = solve_anti_robot(client)
    forged = payload[:-8] + ("A" * 8 if not payload.endswith("A" * 8) else "B" * 8)

    response = client.post(URL, {**form_data, "captcha": forged})
    assert "La vérification anti-robot a échoué" in field_errors(response, "captcha")[0]

    assert client.post(URL, {**form_data, "captcha": payload}).status_code == 302
    # The same solution a second time: already used.
    replay = client.post(URL, {**form_data, "captcha": payload})
    assert replay.status_code == 200
    assert "La vérification anti-robot a échoué" in field_errors(replay, "captcha")[0]
    assert PreInscription.objects.count() == 1


def test_a_solution_past_its_expiry_is_refused(client, form_data, time_machine):
    payload = solve_anti_robot(client)
    time_machine.move_to(timezone.now() + datetime.timedelta(minutes=11))

    response = client.post(URL, {**form_data, "captcha": payload})

    assert "La vérification anti-robot a échoué" in field_errors(response, "captcha")[0]
    assert not PreInscription.objects.exists()


def test_submissions_are_limited_per_client_address(client, form_data, settings):
    settings.PREINSCRIPTION_RATE = "2/h"
    invalid = {**form_data, "siret": "1"}
    assert submit(client, invalid, solved=False).status_code == 200
    assert submit(client, invalid, solved=False).status_code == 200

    response = submit(client, form_data, solved=False)

    assert response.status_code == 429
    assert "Trop d'envois depuis votre connexion" in response.content.decode()
    assert client.get(URL).status_code == 200  # reading the page is not counted
    # Another address is not concerned.
    assert submit(client, invalid, solved=False, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_behind_the_proxy_the_limit_applies_to_the_client_not_to_the_proxy(
    client, form_data, settings
):
    settings.PREINSCRIPTION_RATE = "1/h"
    settings.TRUSTED_PROXY_COUNT = 1
    invalid = {**form_data, "siret": "1"}

    first = submit(client, invalid, solved=False, HTTP_X_FORWARDED_FOR="198.51.100.1")
    other_client = submit(client, invalid, solved=False, HTTP_X_FORWARDED_FOR="198.51.100.2")
    again = submit(client, invalid, solved=False, HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert (first.status_code, other_client.status_code, again.status_code) == (200, 200, 429)


REFERENCE_ERROR = (
    "Cette référence de convention n'est pas valide pour cet organisme, ou elle a déjà servi. "
    "Vérifiez-la auprès de votre organisme d'assurance maladie."
)


def test_an_unknown_reference_is_refused(client, form_data):
    response = submit(client, {**form_data, "reference_convention": "CONV-INCONNUE"})

    assert field_errors(response, "reference_convention") == [REFERENCE_ERROR]
    assert not PreInscription.objects.exists()


def test_a_reference_of_another_organisme_is_refused_the_same_way(client, form_data):
    other = ConventionFactory(reference="CONV-33-0001")

    response = submit(client, {**form_data, "reference_convention": other.reference})

    assert field_errors(response, "reference_convention") == [REFERENCE_ERROR]


def test_an_ended_convention_cannot_be_claimed(client, form_data, convention):
    convention.date_debut = timezone.localdate() - datetime.timedelta(days=400)
    convention.date_fin = timezone.localdate() - datetime.timedelta(days=1)
    convention.save()

    response = submit(client, form_data)

    assert field_errors(response, "reference_convention") == [REFERENCE_ERROR]


def test_a_convention_whose_structure_has_an_active_gestionnaire_is_already_claimed(
    client, form_data, convention
):
    GestionnaireFactory(structure=convention.structure)

    response = submit(client, form_data)

    assert field_errors(response, "reference_convention") == [REFERENCE_ERROR]
    assert not PreInscription.objects.exists()


def test_a_convention_with_a_validated_preinscription_is_already_claimed(
    client, form_data, convention, organisme
):
    PreInscription.objects.create(
        **{
            **{k: v for k, v in form_data.items() if k not in ("cgu", "organisme")},
            "organisme": organisme,
            "siret": convention.structure.siret,
            "nom_patronymique": "PICHON",
            "structure_telephone": "03.44.00.00.00",
            "telephone": "07.00.00.00.00",
            "convention": convention,
            "statut": Statut.VALIDEE,
        }
    )

    response = submit(client, form_data)

    assert field_errors(response, "reference_convention") == [REFERENCE_ERROR]


def test_a_pending_request_does_not_block_another_one(client, form_data):
    """Someone who knows a reference must not be able to lock the real partner out."""
    assert submit(client, form_data).status_code == 302
    assert submit(client, {**form_data, "email": "autre@ccas.example"}).status_code == 302
    assert PreInscription.objects.filter(statut=Statut.EN_ATTENTE).count() == 2


def test_a_siret_that_is_not_the_conventions_structure_is_flagged_to_the_agents(
    client, form_data, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, {**form_data, "siret": spaced(valid_siret(777))})

    assert response.status_code == 302
    preinscription = PreInscription.objects.get()
    assert preinscription.siret_differs
    [notification] = [message for message in mail.outbox if message.to == [agent.email]]
    assert "ce SIRET n'est pas celui de la structure de la convention" in notification.body


def test_the_login_page_links_to_preinscription_and_contact(client):
    html = client.get(reverse("accounts:login")).content.decode()

    assert f'href="{URL}"' in html
    assert 'href="/contact/"' in html
