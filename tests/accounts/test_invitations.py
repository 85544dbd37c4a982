"""The invitation e-mail and its "Créer mon mot de passe" link (SPEC §3)."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccountEvent, Invitation, Role, User
from notifications.models import SentEmail
from tests.factories import TEST_PASSWORD, AgentFactory, ConventionFactory, TechnicienFactory
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Cerisier-Bleu-Lanterne-71"
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000/invitation/([A-Za-z0-9_-]+)/")
SET_PASSWORD_URL = "/invitation/creer-mot-de-passe/"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.INVITATION_TIMEOUT_HOURS = 72


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def convention(agent):
    return ConventionFactory(organisme=agent.organisme)


@pytest.fixture
def create_account(agent, convention, django_capture_on_commit_callbacks):
    """Create a partner account the way the admin does, with its e-mails sent after commit."""

    def create(
        prenom="Maryse", nom="PICHON", email="maryse.pichon@assurance-maladie.fr", role=None
    ):
        with django_capture_on_commit_callbacks(execute=True):
            return services.create_partner_account(
                by=agent,
                role=role or Role.GESTIONNAIRE,
                structure=convention.structure,
                organisme=agent.organisme,
                data={
                    "civilite": "MME",
                    "nom_patronymique": nom,
                    "nom_usuel": "",
                    "prenom": prenom,
                    "fonction": "Bénévole",
                    "telephone": "07.00.00.00.00",
                    "email": email,
                },
            )

    return create


@pytest.fixture
def account(create_account):
    return create_account()


def html_of(email) -> str:
    [(content, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return content


def link_in(email) -> str:
    """The "Créer mon mot de passe" link, the same in the text and the HTML bodies."""
    [link] = {match.group(0) for match in LINK_RE.finditer(email.body)}
    assert link in html_of(email)
    return link


def token_of(link: str) -> str:
    return LINK_RE.fullmatch(link).group(1)


def path_of(link: str) -> str:
    return link.removeprefix("http://127.0.0.1:8000")


def follow(client, link: str):
    """Open the link as a browser does: the token moves into the session, then the page."""
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert response["Location"] == SET_PASSWORD_URL
    return client.get(SET_PASSWORD_URL)


def set_password(client, link: str, password: str = NEW_PASSWORD):
    follow(client, link)
    return client.post(SET_PASSWORD_URL, {"new_password1": password, "new_password2": password})


# --- The e-mail -----------------------------------------------------------------------------


def test_creating_an_account_sends_the_invitation_email(account):
    [email] = mail.outbox

    assert email.to == ["maryse.pichon@assurance-maladie.fr"]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    for body in (email.body, html_of(email)):
        assert "Bonjour Maryse PICHON," in body
        assert "Vous avez été désigné gestionnaire partenaire pour votre structure." in body
        assert "votre identifiant est :" in body
        assert "m.pichon" in body
        assert "Créer mon mot de passe" in body
        assert "Votre conseiller Assurance Maladie." in body
    link = link_in(email)
    assert link == f"http://127.0.0.1:8000/invitation/{token_of(link)}/"
    assert f'href="{link}"' in html_of(email)


def test_a_technicien_is_told_their_role(create_account):
    create_account(prenom="Victor", nom="CHAUSSON", email="v@example.org", role=Role.TECHNICIEN)

    [email] = mail.outbox
    assert "Bonjour Victor CHAUSSON," in email.body
    assert "votre compte TECHNICIEN partenaire est créé" in email.body


def test_the_sent_email_is_recorded_with_status_sent(account):
    sent = SentEmail.objects.get(account=account)

    assert sent.template == "accounts/invitation"
    assert sent.recipient == "maryse.pichon@assurance-maladie.fr"
    assert sent.subject == "Bienvenue sur Espace Partenaires"
    assert sent.status == SentEmail.Status.SENT
    assert sent.attempts == 1
    assert sent.sent_at is not None
    assert AccountEvent.objects.filter(
        account=account, kind=AccountEvent.Kind.INVITATION_SENT
    ).exists()


def test_the_token_is_never_stored_in_clear(account):
    token = token_of(link_in(mail.outbox[0]))

    invitation = Invitation.objects.get(account=account)
    assert invitation.token_hash == Invitation.hash_token(token)
    assert len(invitation.token_hash) == 64
    assert token not in invitation.token_hash
    for sent in SentEmail.objects.all():
        for field in SentEmail._meta.fields:
            assert token not in str(field.value_from_object(sent))
    for event in AccountEvent.objects.filter(account=account):
        assert token not in str(event.changes) + event.reason


def test_no_email_and_no_record_when_the_creating_transaction_rolls_back(
    agent, convention, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.create_partner_account(
            by=agent,
            role=Role.GESTIONNAIRE,
            structure=convention.structure,
            organisme=agent.organisme,
            data={
                "civilite": "MME",
                "nom_patronymique": "PICHON",
                "nom_usuel": "",
                "prenom": "Maryse",
                "fonction": "Bénévole",
                "telephone": "07.00.00.00.00",
                "email": "maryse.pichon@assurance-maladie.fr",
            },
        )
        raise RuntimeError("something failed after the account was created")

    assert callbacks == []
    assert mail.outbox == []
    assert not SentEmail.objects.exists()
    assert not Invitation.objects.exists()
    assert not User.objects.filter(identifiant="m.pichon").exists()


# --- The link -------------------------------------------------------------------------------


def test_the_link_leads_to_the_set_password_form_without_the_token_in_the_address(client, account):
    link = link_in(mail.outbox[0])

    response = follow(client, link)

    assert response.status_code == 200
    assert "Créer mon mot de passe" in response.text
    assert "m.pichon" in response.text
    assert 'name="new_password1"' in response.text
    assert token_of(link) not in response.text
    assert client.session["_invitation_token"] == token_of(link)


def test_the_account_cannot_log_in_before_its_password_is_set(client, account):
    assert not account.has_usable_password()
    assert not log_in(client, "m.pichon", "")
    assert not log_in(client, "m.pichon", NEW_PASSWORD)


def test_a_too_short_password_is_refused_and_nothing_changes(client, account):
    follow(client, link_in(mail.outbox[0]))

    response = client.post(
        SET_PASSWORD_URL, {"new_password1": "Court-7a!", "new_password2": "Court-7a!"}
    )

    assert response.status_code == 200
    assert (
        "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères."
        in response.context["form"].errors["new_password1"]  # next to the first field
    )
    account.refresh_from_db()
    assert not account.has_usable_password()
    assert Invitation.objects.get(account=account).used_at is None
    assert not log_in(client, "m.pichon", "Court-7a!")


def test_two_different_passwords_are_refused(client, account):
    follow(client, link_in(mail.outbox[0]))

    response = client.post(
        SET_PASSWORD_URL, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    account.refresh_from_db()
    assert not account.has_usable_password()


def test_a_valid_password_lets_the_account_log_in(client, account):
    response = set_password(client, link_in(mail.outbox[0]))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    account.refresh_from_db()
    assert account.password_changed_at is not None
    assert AccountEvent.objects.filter(
        account=account, kind=AccountEvent.Kind.PASSWORD_SET
    ).exists()
    assert "_invitation_token" not in client.session
    assert log_in(client, "m.pichon", NEW_PASSWORD)


def test_the_link_is_single_use(client, account):
    link = link_in(mail.outbox[0])
    set_password(client, link)

    response = follow(client, link)

    assert response.status_code == 404
    assert "Ce lien n'est plus valide" in response.text
    assert 'name="new_password1"' not in response.text


def test_a_used_link_cannot_set_another_password(client, account):
    link = link_in(mail.outbox[0])
    set_password(client, link)

    set_password(client, link, password="Autre-Mot-De-Passe-99")

    assert log_in(client, "m.pichon", NEW_PASSWORD)
    assert not log_in(client, "m.pichon", "Autre-Mot-De-Passe-99")


def test_an_unknown_token_shows_the_invalid_page(client, account):
    response = follow(client, "http://127.0.0.1:8000/invitation/pas-un-vrai-jeton/")

    assert response.status_code == 404
    assert "Ce lien n'est plus valide" in response.text


def test_the_link_still_works_just_before_it_expires(client, account):
    link = link_in(mail.outbox[0])

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=71), tick=False):
        response = follow(client, link)

    assert response.status_code == 200
    assert 'name="new_password1"' in response.text


def test_an_expired_link_offers_a_new_one_that_works(
    client, account, django_capture_on_commit_callbacks
):
    old_link = link_in(mail.outbox[0])

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=73), tick=False):
        expired = follow(client, old_link)

        assert expired.status_code == 410
        assert "Ce lien a expiré" in expired.text
        assert "Recevoir un nouveau lien" in expired.text
        assert 'name="new_password1"' not in expired.text

        with django_capture_on_commit_callbacks(execute=True):
            renewed = client.post(SET_PASSWORD_URL)

        assert renewed.status_code == 200
        assert "Un nouveau lien vous a été envoyé" in renewed.text
        assert len(mail.outbox) == 2
        new_email = mail.outbox[1]
        assert new_email.to == ["maryse.pichon@assurance-maladie.fr"]
        assert new_email.subject == "Bienvenue sur Espace Partenaires"
        new_link = link_in(new_email)
        assert new_link != old_link

        old_again = follow(client, old_link)
        assert old_again.status_code == 410
        assert 'name="new_password1"' not in old_again.text

        set_password(client, new_link)
        assert log_in(client, "m.pichon", NEW_PASSWORD)


def test_an_expired_link_refuses_a_password(client, account):
    link = link_in(mail.outbox[0])

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=73), tick=False):
        follow(client, link)
        client.post(
            SET_PASSWORD_URL, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )

        assert not log_in(client, "m.pichon", NEW_PASSWORD)
    account.refresh_from_db()
    assert not account.has_usable_password()


def test_the_expiry_follows_the_setting(settings, client, create_account):
    settings.INVITATION_TIMEOUT_HOURS = 2
    create_account()
    link = link_in(mail.outbox[0])

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=3), tick=False):
        response = follow(client, link)

    assert response.status_code == 410
    assert "Ce lien a expiré" in response.text
    assert "valable 2 heures" in mail.outbox[0].body


def test_resending_the_invitation_kills_the_previous_link(
    client, agent, account, django_capture_on_commit_callbacks
):
    old_link = link_in(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(by=agent, account=account)

    new_link = link_in(mail.outbox[1])
    assert new_link != old_link
    assert mail.outbox[1].to == ["maryse.pichon@assurance-maladie.fr"]
    old = follow(client, old_link)
    assert old.status_code == 410
    assert "Ce lien n'est plus valide" in old.text
    assert 'name="new_password1"' not in old.text
    assert follow(client, new_link).status_code == 200


def test_an_account_whose_password_exists_gets_no_new_invitation(client, agent, account):
    set_password(client, link_in(mail.outbox[0]))

    with pytest.raises(services.AccountRuleError):
        services.resend_invitation(by=agent, account=account)


def test_inactivating_the_account_kills_its_pending_link(
    client, agent, create_account, django_capture_on_commit_callbacks
):
    create_account()  # the structure's other gestionnaire
    technicien = create_account(
        prenom="Victor", nom="CHAUSSON", email="victor@example.org", role=Role.TECHNICIEN
    )
    link = link_in(mail.outbox[1])
    services.inactivate_account(by=agent, account=technicien)

    response = follow(client, link)

    assert response.status_code == 404
    assert "Ce lien n'est plus valide" in response.text
    assert 'name="new_password1"' not in response.text
    assert Invitation.objects.get(account=technicien).revoked_at is not None


def test_reactivation_sends_the_unchanged_identifiant_and_kills_the_old_password(
    client, agent, convention, django_capture_on_commit_callbacks
):
    technicien = TechnicienFactory(
        identifiant="v.chausson2",
        prenom="Victor",
        nom_patronymique="CHAUSSON",
        email="victor.chausson@assurance-maladie.fr",
        structure=convention.structure,
    )
    TechnicienFactory(structure=convention.structure)
    assert log_in(client, "v.chausson2", TEST_PASSWORD)
    client.logout()
    services.inactivate_account(by=agent, account=technicien)

    with django_capture_on_commit_callbacks(execute=True):
        services.reactivate_account(
            by=agent, account=technicien, reason="Retour de congé", organisme=agent.organisme
        )

    [email] = mail.outbox
    assert email.to == ["victor.chausson@assurance-maladie.fr"]
    assert email.subject == "Bienvenue sur Espace Partenaires"
    for body in (email.body, html_of(email)):
        assert "Bonjour Victor CHAUSSON," in body
        assert "Votre compte en tant que technicien partenaire est réactivé" in body
        assert "Votre identifiant reste inchangé" in body
        assert "v.chausson2" in body
        assert "Créer mon mot de passe" in body
    assert SentEmail.objects.get(account=technicien).template == "accounts/reactivation"
    technicien.refresh_from_db()
    assert technicien.identifiant == "v.chausson2"
    assert not log_in(client, "v.chausson2", TEST_PASSWORD)

    set_password(client, link_in(email))
    assert log_in(client, "v.chausson2", NEW_PASSWORD)


def test_a_resent_link_after_reactivation_is_a_reactivation_email(
    client, agent, convention, django_capture_on_commit_callbacks
):
    technicien = TechnicienFactory(structure=convention.structure)
    TechnicienFactory(structure=convention.structure)
    services.inactivate_account(by=agent, account=technicien)
    with django_capture_on_commit_callbacks(execute=True):
        services.reactivate_account(
            by=agent, account=technicien, reason="Retour", organisme=agent.organisme
        )
        services.resend_invitation(by=agent, account=technicien)

    # The first e-mail was superseded before it could leave: only the newest link goes out,
    # and the log says the first one was cancelled rather than leaving it pending forever.
    [email] = mail.outbox
    assert "Votre identifiant reste inchangé" in email.body
    assert follow(client, link_in(email)).status_code == 200
    statuses = SentEmail.objects.filter(account=technicien).order_by("pk")
    assert [sent.status for sent in statuses] == [SentEmail.Status.CANCELLED, SentEmail.Status.SENT]
