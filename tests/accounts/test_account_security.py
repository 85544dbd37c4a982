"""Passwords, their expiry, the CGU, and the forgotten password or identifier (SPEC §3, §7)."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.cgu import CGU_VERSION
from accounts.models import User
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    SuperuserFactory,
)
from tests.helpers import give_second_factor, log_in

pytestmark = pytest.mark.django_db


SITE_URL = "https://espace-partenaires.example"
NEW_PASSWORD = "Cerisier-Bleu-Lanterne-71"
PASSWORD_CHANGE_URL = "/mot-de-passe/"
CGU_URL = "/cgu/"
EMAIL = "maryse.pichon@assurance-maladie.fr"
EXPIRED_TEXT = (
    "Votre mot de passe doit être renouvelé (il a plus de 365 jours) : "
    "choisissez-en un nouveau pour continuer."
)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


@pytest.fixture
def gestionnaire():
    account = GestionnaireFactory(identifiant="m.pichon", email=EMAIL)
    ConventionFactory(structure=account.structure)
    return account


@pytest.fixture
def agent():
    return AgentFactory(identifiant="a.durand")


def change_password(client, new=NEW_PASSWORD, old=TEST_PASSWORD, confirmation=None):
    return client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": old, "new_password1": new, "new_password2": confirmation or new},
    )


def errors_of(response) -> list[str]:
    """The errors shown next to the form's fields."""
    lists = re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return [error for errors in lists for error in re.findall(r"<li>(.*?)</li>", errors)]


def path_of(link: str) -> str:
    assert link.startswith(SITE_URL + "/")
    return link.removeprefix(SITE_URL)


def links_in(email) -> set[str]:
    return set(re.findall(re.escape(SITE_URL) + r"/[^\s\"<]*", email.body))


# --- Passwords ------------------------------------------------------------------------------


def test_the_password_change_form_is_at_mot_de_passe_in_french(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = client.get(PASSWORD_CHANGE_URL)

    assert response.status_code == 200
    content = response.content.decode()
    for text in (
        "Changer mon mot de passe",
        "Au moins 12 caractères",
        "Ancien mot de passe",
        "Nouveau mot de passe",
        "Confirmation du nouveau mot de passe",
        "Enregistrer",
    ):
        assert text in content


def test_changing_the_password_keeps_the_session_and_restarts_the_clock(client, gestionnaire):
    with time_machine.travel(timezone.now() + datetime.timedelta(days=10), tick=False):
        assert log_in(client, "m.pichon", TEST_PASSWORD)
        response = change_password(client)

        assert response.status_code == 302
        assert response["Location"] == "/"
        gestionnaire.refresh_from_db()
        assert gestionnaire.password_changed_at == timezone.now()
        page = client.get("/", follow=True)
        assert page.status_code == 200
        assert "Votre nouveau mot de passe est enregistré." in page.content.decode()
        assert not log_in(client, "m.pichon", TEST_PASSWORD)
        assert log_in(client, "m.pichon", NEW_PASSWORD)


def test_a_password_of_11_characters_is_refused_in_french(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = change_password(client, "Lanterne-71")

    assert response.status_code == 200
    assert errors_of(response) == [
        "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères."
    ]
    gestionnaire.refresh_from_db()
    assert gestionnaire.check_password(TEST_PASSWORD)


def test_a_password_of_12_characters_is_accepted(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = change_password(client, "Lanterne-71a")

    assert response.status_code == 302
    gestionnaire.refresh_from_db()
    assert gestionnaire.check_password("Lanterne-71a")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("telechargement", "Ce mot de passe est trop courant."),
        ("907316485203", "Ce mot de passe est entièrement numérique."),
        (
            "maryse.pichon@assurance",
            "Le mot de passe est trop semblable au champ «\xa0adresse e-mail\xa0».",
        ),
        (
            "m.pichon.2026",
            "Le mot de passe est trop semblable au champ «\xa0identifiant de connexion\xa0».",
        ),
    ],
)
def test_django_s_validators_refuse_weak_passwords_in_french(
    client, gestionnaire, password, message
):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = change_password(client, password)

    assert response.status_code == 200
    assert message in errors_of(response)


def test_the_two_new_passwords_must_match(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = change_password(client, NEW_PASSWORD, confirmation="Cerisier-Bleu-Lanterne-72")

    assert "Les deux mots de passe ne correspondent pas." in errors_of(response)


def test_the_old_password_is_asked_for(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = change_password(client, old="Pas-Le-Bon-Mot-De-Passe-1")

    assert response.status_code == 200
    assert any("Votre ancien mot de passe est incorrect" in error for error in errors_of(response))


# --- Password expiry ------------------------------------------------------------------------


def later(days: float):
    return time_machine.travel(timezone.now() + datetime.timedelta(days=days), tick=False)


def test_a_password_older_than_365_days_forces_the_change_form_at_log_in(client, gestionnaire):
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        response = client.get("/", follow=True)

        assert response.redirect_chain == [(PASSWORD_CHANGE_URL, 302)]
        content = response.content.decode()
        assert EXPIRED_TEXT in content
        assert "Changer mon mot de passe" in content


def test_an_expired_password_redirects_every_page_to_the_change_form(client, gestionnaire):
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        for url in ("/", "/organisme/", "/admin/", "/admin/accounts/"):
            response = client.get(url)

            assert response.status_code == 302, url
            assert response["Location"] == PASSWORD_CHANGE_URL, url


@pytest.mark.urls("tests.urls")
def test_an_expired_password_also_guards_pages_that_check_nothing_themselves(client, gestionnaire):
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        assert client.get("/page-partenaire/")["Location"] == PASSWORD_CHANGE_URL
        change_password(client)
        client.get("/", follow=True)
        assert client.get("/page-partenaire/").content == b"Page partenaire"


def test_a_password_of_just_under_365_days_is_still_valid(client, gestionnaire):
    with later(364.9):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        response = client.get("/", follow=True)

        assert response.redirect_chain[-1][0] == "/"
        assert EXPIRED_TEXT not in response.content.decode()


def test_the_maximum_age_is_configurable(client, gestionnaire, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    with later(91):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        assert client.get("/")["Location"] == PASSWORD_CHANGE_URL


def test_an_account_without_a_password_date_must_change_it(client, gestionnaire):
    gestionnaire.password_changed_at = None
    gestionnaire.save()
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    assert client.get("/")["Location"] == PASSWORD_CHANGE_URL


def test_once_the_expired_password_is_changed_the_portal_opens(client, gestionnaire):
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)
        client.get("/")

        response = change_password(client)

        assert response["Location"] == "/"
        response = client.get("/", follow=True)
        assert response.redirect_chain[-1][0] == "/"
        assert response.status_code == 200
        assert "Bienvenue sur Espace Partenaires." in response.content.decode()


def test_an_agent_with_an_expired_password_changes_it_before_entering_the_admin(client, agent):
    with later(366):
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "a.durand", "password": TEST_PASSWORD}
        )
        assert response["Location"] == "/admin/"
        give_second_factor(client, "a.durand")  # first, so that a password alone changes nothing

        for url in ("/admin/", "/admin/password_change/", "/"):
            assert client.get(url)["Location"] == PASSWORD_CHANGE_URL, url

        assert change_password(client).status_code == 302
        assert client.get("/admin/").status_code == 200


def test_a_superuser_with_an_expired_password_changes_it_before_entering_the_admin(client):
    SuperuserFactory(identifiant="s.national")
    with later(366):
        assert log_in(client, "s.national", TEST_PASSWORD)
        give_second_factor(client, "s.national")

        assert client.get("/admin/")["Location"] == PASSWORD_CHANGE_URL


def test_a_person_with_an_expired_password_can_still_log_out(client, gestionnaire):
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        response = client.post("/deconnexion/")

        assert response["Location"] == "/connexion/"
        assert "_auth_user_id" not in client.session


def test_the_expired_password_comes_before_the_cgu(client, gestionnaire):
    gestionnaire.cgu_version = ""
    gestionnaire.save()
    with later(366):
        assert log_in(client, "m.pichon", TEST_PASSWORD)

        assert client.get("/")["Location"] == PASSWORD_CHANGE_URL
        change_password(client)
        assert client.get("/")["Location"] == CGU_URL


# --- CGU ------------------------------------------------------------------------------------


@pytest.fixture
def newcomer(gestionnaire):
    """A gestionnaire logging in for the first time: the CGU were never accepted."""
    gestionnaire.cgu_version = ""
    gestionnaire.cgu_accepted_at = None
    gestionnaire.save()
    return gestionnaire


def test_the_first_log_in_shows_the_cgu_to_accept(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = client.get("/", follow=True)

    assert response.redirect_chain == [(CGU_URL, 302)]
    content = response.content.decode()
    assert "Conditions générales d'utilisation d'Espace Partenaires" in content
    assert f"Version {CGU_VERSION}" in content
    assert "prenez connaissance de ces conditions et acceptez-les" in content
    assert "Accepter et continuer" in content


def test_no_page_opens_before_the_cgu_are_accepted(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    for url in ("/", "/organisme/", PASSWORD_CHANGE_URL):
        response = client.get(url)

        assert response.status_code == 302, url
        assert response["Location"] == CGU_URL, url


@pytest.mark.urls("tests.urls")
def test_the_cgu_also_guard_pages_that_check_nothing_themselves(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    assert client.get("/page-partenaire/")["Location"] == CGU_URL
    client.post(CGU_URL, {"accept": "on"})
    client.get("/", follow=True)
    assert client.get("/page-partenaire/").content == b"Page partenaire"


def test_the_cgu_are_accepted_only_with_the_box_ticked(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = client.post(CGU_URL, {})

    assert response.status_code == 200
    assert "Cochez la case pour accepter les conditions." in response.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.cgu_version == ""
    assert newcomer.cgu_accepted_at is None
    assert client.get("/")["Location"] == CGU_URL


def test_accepting_the_cgu_stores_the_version_and_date_then_opens_the_portal(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(CGU_URL, {"accept": "on"})

        newcomer.refresh_from_db()
        assert newcomer.cgu_version == CGU_VERSION
        assert newcomer.cgu_accepted_at == timezone.now()
    assert response["Location"] == "/"
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Bienvenue sur Espace Partenaires." in response.content.decode()


def test_an_account_that_accepted_an_older_version_is_asked_again(client, gestionnaire):
    gestionnaire.cgu_version = "2020-01"
    gestionnaire.save()
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    assert client.get("/")["Location"] == CGU_URL
    client.post(CGU_URL, {"accept": "on"})

    gestionnaire.refresh_from_db()
    assert gestionnaire.cgu_version == CGU_VERSION
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/"


def test_a_new_version_of_the_cgu_is_asked_of_everyone_again(client, gestionnaire, monkeypatch):
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/"

    monkeypatch.setattr(services, "CGU_VERSION", "2099-01")

    assert client.get("/")["Location"] == CGU_URL
    client.post(CGU_URL, {"accept": "on"})
    gestionnaire.refresh_from_db()
    assert gestionnaire.cgu_version == "2099-01"
    assert client.get("/").status_code == 200


def test_the_cgu_can_be_read_without_logging_in_and_without_a_form(client):
    response = client.get(CGU_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert "2. Usage strictement professionnel" in content
    assert "Accepter et continuer" not in content


def test_a_partner_who_accepted_reads_the_cgu_without_a_form(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    response = client.get(CGU_URL)

    assert "Accepter et continuer" not in response.content.decode()
    assert client.post(CGU_URL, {"accept": "on"}).status_code == 200


def test_agents_are_not_asked_for_the_partners_cgu(client):
    AgentFactory(identifiant="a.durand", cgu_version="", cgu_accepted_at=None)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    give_second_factor(client, "a.durand")

    assert client.get("/admin/").status_code == 200


def test_a_person_who_has_not_accepted_can_log_out(client, newcomer):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    assert client.post("/deconnexion/")["Location"] == "/connexion/"
    assert "_auth_user_id" not in client.session


# --- Forgotten password ---------------------------------------------------------------------


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """Post an address to a "forgotten" form; its e-mails go once the request commits."""

    def post(url, email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, {"email": email}, follow=True)

    return post


def reset_link(email) -> str:
    [link] = links_in(email)
    assert re.fullmatch(re.escape(SITE_URL) + r"/mot-de-passe-oublie/[\w-]+/[\w-]+/", link)
    assert f'href="{link}"' in email.alternatives[0][0]
    return link


def test_forgotten_password_sends_a_link_by_email(client, gestionnaire, ask):
    response = ask("/mot-de-passe-oublie/", EMAIL)

    assert response.redirect_chain == [("/mot-de-passe-oublie/envoye/", 302)]
    assert "Demande envoyée" in response.content.decode()
    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert email.subject == "Espace Partenaires : choisir un nouveau mot de passe"
    assert "Bonjour Maryse PICHON," in email.body
    assert "(m.pichon)" in email.body
    reset_link(email)


def test_the_reset_link_sets_a_new_password_that_logs_in(client, gestionnaire, ask):
    ask("/mot-de-passe-oublie/", EMAIL)
    link = reset_link(mail.outbox[0])

    form = client.get(path_of(link), follow=True)
    assert "Choisir un nouveau mot de passe" in form.content.decode()
    set_password_url = form.redirect_chain[-1][0]
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(
            set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        gestionnaire.refresh_from_db()
        assert gestionnaire.password_changed_at == timezone.now()

    assert response["Location"] == "/mot-de-passe-oublie/termine/"
    assert not log_in(client, "m.pichon", TEST_PASSWORD)
    assert log_in(client, "m.pichon", NEW_PASSWORD)


def test_the_reset_link_applies_the_password_rules(client, gestionnaire, ask):
    ask("/mot-de-passe-oublie/", EMAIL)
    form = client.get(path_of(reset_link(mail.outbox[0])), follow=True)

    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Court-1", "new_password2": "Court-1"}
    )

    assert response.status_code == 200
    assert "Ce mot de passe est trop court" in response.content.decode()


def test_the_reset_link_serves_only_once(client, gestionnaire, ask):
    ask("/mot-de-passe-oublie/", EMAIL)
    link = reset_link(mail.outbox[0])
    form = client.get(path_of(link), follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    again = client.get(path_of(link), follow=True)

    assert "Ce lien n'est plus valide" in again.content.decode()


def test_the_reset_link_expires_after_72_hours(client, gestionnaire, ask):
    ask("/mot-de-passe-oublie/", EMAIL)
    link = reset_link(mail.outbox[0])
    assert "reste valable 72 heures" in mail.outbox[0].body

    with later(3.1):
        response = client.get(path_of(link), follow=True)

    assert "Ce lien n'est plus valide" in response.content.decode()


def test_the_address_is_matched_whatever_its_case(client, gestionnaire, ask):
    ask("/mot-de-passe-oublie/", " Maryse.Pichon@Assurance-Maladie.FR")

    [email] = mail.outbox
    assert email.to == [EMAIL]


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie/", "/identifiant-oublie/"])
def test_the_answer_is_the_same_whether_or_not_an_account_uses_the_address(
    client, gestionnaire, ask, url
):
    known = ask(url, EMAIL)
    assert len(mail.outbox) == 1
    unknown = ask(url, "personne@inconnue.example")

    assert len(mail.outbox) == 1
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie/", "/identifiant-oublie/"])
def test_an_inactive_account_gets_no_email_and_the_same_answer(client, gestionnaire, ask, url):
    unknown = ask(url, "personne@inconnue.example")
    gestionnaire.is_active = False
    gestionnaire.inactivated_at = timezone.now()
    gestionnaire.save()

    inactive = ask(url, EMAIL)

    assert mail.outbox == []
    assert inactive.content == unknown.content


@pytest.fixture
def invited(django_capture_on_commit_callbacks):
    """A gestionnaire created by the fund, who has not yet used the invitation."""
    agent = AgentFactory()
    convention = ConventionFactory(organisme=agent.organisme)
    with django_capture_on_commit_callbacks(execute=True):
        account = services.create_partner_account(
            by=agent,
            role="gestionnaire",
            structure=convention.structure,
            organisme=agent.organisme,
            data={
                "civilite": "MME",
                "nom_patronymique": "PICHON",
                "nom_usuel": "",
                "prenom": "Maryse",
                "fonction": "Bénévole",
                "telephone": "07.00.00.00.00",
                "email": EMAIL,
            },
        )
    [account.invitation_link] = links_in(mail.outbox[0])  # the link in the newcomer's mailbox
    mail.outbox.clear()
    return account


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie/", "/identifiant-oublie/"])
def test_a_person_whose_invitation_is_pending_gets_a_fresh_invitation(client, invited, ask, url):
    first_link = invited.invitations.get()

    # Past FORGOTTEN_ACCOUNT_MINUTES after the invitation's own e-mail (within them, that one
    # is the answer: at most one such e-mail a quarter of an hour, whoever asks).
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        response = ask(url, EMAIL)

    assert response.redirect_chain[-1][1] == 302
    assert "Demande envoyée" in response.content.decode()
    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    [link] = links_in(email)
    # The pending invitation is sent again, not revoked for a new one: a stranger typing the
    # address cannot cut a newcomer's invitation short (SPEC §10). The second link expires with
    # the first.
    first_link.refresh_from_db()
    assert first_link.revoked_at is None and first_link.is_usable
    second_link = invited.invitations.exclude(pk=first_link.pk).get()
    assert second_link.expires_at == first_link.expires_at
    assert "Bonjour Maryse PICHON," in email.body
    assert invited.identifiant in email.body
    page = client.get(path_of(link), follow=True)
    assert page.status_code == 200
    assert 'name="new_password1"' in page.content.decode()
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert log_in(client, invited.identifiant, NEW_PASSWORD)


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie/", "/identifiant-oublie/"])
def test_the_link_already_in_the_newcomers_mailbox_still_works_after_a_request(
    client, invited, ask, url
):
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        ask(url, EMAIL)
    [new_link] = links_in(mail.outbox[0])
    assert new_link != invited.invitation_link

    page = client.get(path_of(invited.invitation_link), follow=True)
    assert page.status_code == 200
    assert 'name="new_password1"' in page.content.decode()
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert log_in(client, invited.identifiant, NEW_PASSWORD)
    # Once the password is set, the other link is dead too.
    assert client.get(path_of(new_link), follow=True).status_code == 410


def test_a_pending_invitation_gets_the_same_answer_as_an_unknown_address(client, invited, ask):
    unknown = ask("/mot-de-passe-oublie/", "personne@inconnue.example")
    pending = ask("/mot-de-passe-oublie/", EMAIL)

    assert pending.content == unknown.content


# --- Forgotten identifier -------------------------------------------------------------------


def test_forgotten_identifier_sends_it_by_email_with_a_working_log_in_link(
    client, gestionnaire, ask
):
    response = ask("/identifiant-oublie/", EMAIL)

    assert response.redirect_chain == [("/identifiant-oublie/envoye/", 302)]
    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert email.subject == "Espace Partenaires : votre identifiant de connexion"
    assert "Bonjour Maryse PICHON," in email.body
    assert "m.pichon" in email.body
    assert gestionnaire.structure.nom in email.body
    [link] = links_in(email)
    assert link == SITE_URL + reverse("accounts:login")
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "Connexion à Espace Partenaires" in page.content.decode()


def test_every_active_account_using_the_address_gets_its_identifier(client, gestionnaire, ask):
    AgentFactory(identifiant="m.pichon2", email=EMAIL)

    ask("/identifiant-oublie/", EMAIL)

    assert len(mail.outbox) == 2
    bodies = sorted(email.body for email in mail.outbox)
    assert any("\nm.pichon\n" in body for body in bodies)
    assert any("\nm.pichon2\n" in body for body in bodies)
    assert {tuple(email.to) for email in mail.outbox} == {(EMAIL,)}


def test_an_invalid_address_is_refused_in_french(client):
    response = client.post("/identifiant-oublie/", {"email": "pas-une-adresse"})

    assert response.status_code == 200
    assert "Saisissez une adresse de courriel valide." in response.content.decode()
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "password", ["ivyinvite2026", "Invite-Ivy-2026!", "IVY.INVITE.2026", "2026-ivy-invite"]
)
def test_a_password_made_of_the_persons_first_and_last_name_is_refused(password):
    """Django's validator compares each attribute alone: 'ivyinvite2026' passed for Ivy INVITE."""
    from django.contrib.auth.password_validation import validate_password

    person = GestionnaireFactory.build(prenom="Ivy", nom_usuel="INVITE", identifiant="i.invite")

    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)
    assert (
        "Le mot de passe ressemble trop à vos prénom, nom ou identifiant." in refused.value.messages
    )


def test_a_password_unrelated_to_the_name_is_accepted():
    from django.contrib.auth.password_validation import validate_password

    person = GestionnaireFactory.build(prenom="Ivy", nom_usuel="INVITE", identifiant="i.invite")

    validate_password("Cerisier-Bleu-Lanterne-71", person)


# --- Forgotten password and identifier: limits, and the same work whoever asks -------------


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie/", "/identifiant-oublie/"])
def test_thirty_requests_for_one_address_send_one_email(client, gestionnaire, ask, url):
    for _ in range(30):
        response = ask(url, EMAIL)
        assert "Demande envoyée" in response.content.decode()

    assert len(mail.outbox) == 1


def test_one_client_asking_for_many_addresses_is_slowed_down(client, ask, settings):
    settings.FORGOTTEN_CLIENT_RATE = "5/h"
    accounts = [GestionnaireFactory(email=f"g{n}@ccas.example") for n in range(8)]

    for account in accounts:
        ask("/mot-de-passe-oublie/", account.email)

    assert len(mail.outbox) == 5


def test_an_account_gets_one_email_even_asked_from_several_clients(gestionnaire, ask):
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        Client(REMOTE_ADDR=address).post("/mot-de-passe-oublie/", {"email": EMAIL})
        ask("/identifiant-oublie/", EMAIL)

    assert len(mail.outbox) == 1


def test_known_and_unknown_addresses_cost_the_request_the_same_queries(
    client, gestionnaire, django_capture_on_commit_callbacks
):
    def queries_of(email) -> tuple[int, int]:
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.post("/mot-de-passe-oublie/", {"email": email})
        assert response.status_code == 302
        return len(queries.captured_queries), len(callbacks)

    # The lookup and the e-mail are the worker's: the request only hands the address over.
    assert queries_of(EMAIL) == queries_of("personne@inconnue.example")
