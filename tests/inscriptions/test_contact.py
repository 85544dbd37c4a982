"""The public contact page (SPEC §8): routed to the referent of the chosen organisme."""

from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from inscriptions.models import MessageContact
from notifications.models import SentEmail
from tests.factories import TEST_PASSWORD, AgentFactory, OrganismeFactory
from tests.helpers import give_second_factor, log_in

from .conftest import solve_anti_robot

pytestmark = pytest.mark.django_db

URL = "/contact/"


# Session, user, the device of the second factor, two counts (filtered and total), two
# permission look-ups, the page. The session, written within the minute, is not written again
# (accounts/sessions.py).
QUERIES_OF_THE_LIST = 8


def test_a_message_goes_to_the_referent_of_the_chosen_organisme_with_the_sender_as_reply_to(
    client, message_data, organisme, django_capture_on_commit_callbacks
):
    OrganismeFactory(email_referent="autre-referent@cpam.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {**message_data, "captcha": solve_anti_robot(client)})

    assert response.status_code == 302
    assert response["Location"] == reverse("inscriptions:contact_envoye")
    sent = client.get(response["Location"])
    assert "<h1>Message envoyé</h1>" in sent.text
    assert "Un accusé de réception vient de vous être envoyé" in sent.text
    stored = MessageContact.objects.get()
    assert stored.organisme == organisme
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {"referent@cpam-oise.example", "maryse.pichon@ccas-creil.example"}
    relayed = by_recipient["referent@cpam-oise.example"]
    assert relayed.subject == (
        "Espace Partenaires, contact : Problème d'accès à votre espace (identifiant, mot de passe)"
    )
    assert relayed.reply_to == ["maryse.pichon@ccas-creil.example"]
    assert "Je n'arrive pas à me connecter depuis ce matin." in relayed.body
    assert "CONV-60-0042" in relayed.body
    assert reverse("admin:inscriptions_messagecontact_change", args=[stored.pk]) in relayed.body
    assert SentEmail.objects.get(recipient="referent@cpam-oise.example").reply_to == (
        "maryse.pichon@ccas-creil.example"
    )
    # The acknowledgement repeats nothing the sender wrote.
    acknowledgement = by_recipient["maryse.pichon@ccas-creil.example"]
    assert acknowledgement.subject == "Espace Partenaires : votre message est bien transmis"
    assert "CPAM DE L'OISE" in acknowledgement.body
    assert "connecter depuis ce matin" not in acknowledgement.body
    assert not acknowledgement.reply_to


def test_the_reference_is_optional(client, message_data):
    data = {**message_data, "reference_convention": "", "captcha": solve_anti_robot(client)}

    assert client.post(URL, data).status_code == 302


def test_a_message_with_a_nir_is_refused(client, message_data):
    data = {
        **message_data,
        "message": "Pour l'assuré 1 85 05 78 006 084 36, merci.",
        "captcha": solve_anti_robot(client),
    }

    response = client.post(URL, data)

    assert response.status_code == 200
    assert "numéro de sécurité sociale (NIR)" in response.context["form"].errors["message"][0]
    assert "Pour l'assuré 1 85 05 78 006 084 36, merci." in unescape(response.text)  # kept
    assert not MessageContact.objects.exists()


def test_the_anti_robot_check_is_required(client, message_data):
    response = client.post(URL, message_data)

    assert "Je ne suis pas un robot" in response.context["form"].errors["captcha"][0]
    assert not MessageContact.objects.exists()


def test_messages_are_limited_per_client_address(client, message_data, settings):
    settings.CONTACT_RATE = "1/h"
    client.post(URL, message_data)

    response = client.post(URL, message_data)

    assert response.status_code == 429
    assert "Trop d'envois" in response.content.decode()


def test_agents_read_only_their_organismes_messages(organisme, agent, message_data):
    own = MessageContact.objects.create(
        **{**message_data, "organisme": organisme, "reference_convention": ""}
    )
    other = MessageContact.objects.create(
        **{**message_data, "organisme": OrganismeFactory(), "reference_convention": ""}
    )
    client = Client()
    assert log_in(client, agent.identifiant, TEST_PASSWORD)
    give_second_factor(client, agent.identifiant)

    changelist = client.get(reverse("admin:inscriptions_messagecontact_changelist"))
    assert [m.pk for m in changelist.context["cl"].result_list] == [own.pk]
    url = "admin:inscriptions_messagecontact_change"
    assert client.get(reverse(url, args=[own.pk])).status_code == 200
    assert client.get(reverse(url, args=[other.pk])).status_code == 404
    stranger = AgentFactory(organisme=OrganismeFactory())
    assert log_in(client, stranger.identifiant, TEST_PASSWORD)
    give_second_factor(client, stranger.identifiant)
    assert client.get(reverse(url, args=[own.pk])).status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_the_agents_list_of_messages_takes_the_same_number_of_queries_however_many(
    organisme, agent, message_data, count, django_assert_num_queries
):
    MessageContact.objects.bulk_create(
        MessageContact(**{**message_data, "organisme": organisme, "reference_convention": ""})
        for _number in range(count)
    )
    client = Client()
    assert log_in(client, agent.identifiant, TEST_PASSWORD)
    give_second_factor(client, agent.identifiant)

    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        response = client.get(reverse("admin:inscriptions_messagecontact_changelist"))

    assert response.context["cl"].result_count == count
