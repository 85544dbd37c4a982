"""Issue 21, item 6: the runbook's commands do what docs/operations.md says. An identifier locked
by five failures is unlocked by `axes_reset_username`; failed e-mails are resent by
`resend_failed_emails`; a SECRET_KEY is rotated with SECRET_KEY_FALLBACKS without logging
anyone out."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from notifications.models import SentEmail
from notifications.services import schedule_email
from tests.accounts.test_sign_in import LOCKED_TEXT, WRONG_PASSWORD, attempt
from tests.factories import TEST_PASSWORD, ConventionFactory, GestionnaireFactory
from tests.helpers import REFERENT_WARNING
from tests.test_production_defaults import PRODUCTION, manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def gestionnaire():
    account = GestionnaireFactory(identifiant="m.pichon")
    ConventionFactory(structure=account.structure)
    return account


def test_the_runbook_s_command_unlocks_a_locked_identifier(gestionnaire, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "M.Pichon", WRONG_PASSWORD)
    assert LOCKED_TEXT in attempt(Client(), "m.pichon", TEST_PASSWORD).text

    output = io.StringIO()
    call_command("axes_reset_username", "m.pichon", stdout=output)

    assert "1 attempts removed." in output.getvalue()  # its one record of failures
    client = Client()
    response = attempt(client, "m.pichon", TEST_PASSWORD)
    assert LOCKED_TEXT not in response.text
    assert "_auth_user_id" in client.session


def failed_email(template="conventions/fin_proche_referent") -> SentEmail:
    sent = schedule_email(
        template=template, recipient="referent@cpam.example", context=REFERENT_WARNING
    )
    SentEmail.objects.filter(pk=sent.pk).update(
        status=SentEmail.Status.FAILED, attempts=5, error="AnymailAPIError"
    )
    return sent


def test_failed_emails_are_resent_by_the_runbook_s_command(on_commit):
    failed = [failed_email(), failed_email()]
    mail.outbox.clear()
    SentEmail.objects.filter(pk=failed[1].pk).update(
        created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    dry = io.StringIO()
    call_command("resend_failed_emails", "--dry-run", "--since", "2026-02-01", stdout=dry)
    assert "e-mails en échec à renvoyer : 1" in dry.getvalue()
    assert mail.outbox == []

    output = io.StringIO()
    with on_commit():
        call_command("resend_failed_emails", stdout=output)

    assert "e-mails renvoyés : 2" in output.getvalue()
    assert "referent@cpam.example" not in output.getvalue()  # no address in the ops' logs
    assert sorted(email.to[0] for email in mail.outbox) == ["referent@cpam.example"] * 2
    assert set(SentEmail.objects.values_list("status", flat=True)) == {SentEmail.Status.SENT}


def test_secret_key_fallbacks_are_read_from_the_environment():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY_FALLBACKS)",
        **PRODUCTION,
        SECRET_KEY_FALLBACKS="ancienne-cle-1,ancienne-cle-2",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['ancienne-cle-1', 'ancienne-cle-2']"


def test_a_rotated_key_keeps_the_sessions_open_while_the_old_one_is_a_fallback(
    gestionnaire, settings
):
    """A session signed with the old key is accepted, and signed anew, at its next request while
    the old key is a fallback; one that did not come back in that time ends with the fallback."""
    back_in_time, away = Client(), Client()
    back_in_time.force_login(gestionnaire)
    away.force_login(gestionnaire)
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY = "nouvelle-cle-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert back_in_time.get("/").wsgi_request.user == gestionnaire

    settings.SECRET_KEY_FALLBACKS = []
    assert back_in_time.get("/").wsgi_request.user == gestionnaire
    assert away.get("/").wsgi_request.user.is_anonymous
