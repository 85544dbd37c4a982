"""Two-factor authentication of agents de caisse and superusers in the admin (SPEC §10).

After the password, an agent or superuser without a confirmed device enrols (TOTP: QR code and
the secret as text, or a passkey), receives single-use recovery codes shown once; later log-ins
ask for the second factor. Until then, no admin page. Wrong codes count toward the lockout of
the identifier (django-axes). A superuser resets an agent's factors, in the admin's history.
Partners are not asked (accounts.second_factor.requires_second_factor is the seam).
"""

import base64
import html
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor import requires_second_factor
from core.models import HistoryEntry
from tests.factories import (
    TEST_PASSWORD,
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import log_in, log_in_verified

pytestmark = pytest.mark.django_db

ENROL_URL = "/connexion/second-facteur/activer/"
VERIFY_URL = "/connexion/second-facteur/"
CODES_URL = "/connexion/second-facteur/codes-de-secours/"


def code_of(device: TOTPDevice, drift: int = 0) -> str:
    """The code an authenticator app shows for `device`, `drift` steps of 30 s from now."""
    token = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{token:0{device.digits}d}"


def enrolled(user) -> TOTPDevice:
    """A user who enrolled an authenticator app earlier, with their recovery codes."""
    device = TOTPDevice.objects.create(user=user, name="Application", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Codes de secours", confirmed=True)
    static.token_set.create(token="secours01")
    return device


def failures(identifiant: str) -> int:
    return sum(
        AccessAttempt.objects.filter(username=identifiant).values_list(
            "failures_since_start", flat=True
        )
    )


def admin_urls(user) -> list[str]:
    """The admin's index, each registered model's list and add pages, and its own pages."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    urls.append(reverse("admin:accounts_staffaccount_change", args=[user.pk]))
    return urls


@pytest.fixture
def agent():
    return AgentFactory(identifiant="a.durand")


# --- who is asked ------------------------------------------------------------------------------


def test_agents_and_superusers_need_a_second_factor_partners_do_not():
    assert requires_second_factor(AgentFactory())
    assert requires_second_factor(SuperuserFactory())
    # A national administrator works in the admin whatever the superuser flag says.
    assert requires_second_factor(SuperuserFactory(is_superuser=False))
    assert not requires_second_factor(GestionnaireFactory())
    assert not requires_second_factor(TechnicienFactory())


def test_a_partner_logs_in_without_a_second_factor(client):
    gestionnaire = GestionnaireFactory(identifiant="m.pichon")
    ConventionFactory(structure=gestionnaire.structure)
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    response = client.get("/", follow=True)
    assert not [url for url, _status in response.redirect_chain if "second-facteur" in url]
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/"
    assert not TOTPDevice.objects.exists()


# --- no admin page before the second factor -----------------------------------------------------


@pytest.mark.parametrize("factory", [AgentFactory, SuperuserFactory], ids=["agent", "superuser"])
def test_without_a_device_every_admin_page_leads_to_the_enrolment(client, factory):
    user = factory()
    assert log_in(client, user.identifiant, TEST_PASSWORD)
    for url in [*admin_urls(user), reverse("accounts:password_change"), "/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(ENROL_URL), url


def test_with_a_device_every_admin_page_asks_for_the_second_factor(client, agent):
    enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    for url in admin_urls(agent):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(VERIFY_URL), url


def test_an_unverified_agent_cannot_download_an_attachment(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    response = client.get(reverse("demandes:piece", args=[1]))
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL_URL)


def test_the_admin_site_itself_refuses_an_unverified_agent(rf, agent):
    """Behind the middleware, the admin site's own permission asks for the second factor."""
    request = rf.get("/admin/")
    request.user = agent
    agent.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    agent.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_an_unverified_agent_can_still_log_out(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


# --- enrolment with an authenticator app (TOTP) -------------------------------------------------


def test_the_enrolment_page_shows_a_qr_code_and_the_secret_as_text(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    response = client.get(ENROL_URL)
    assert response.status_code == 200
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert grouped in page
    assert "<svg" in page
    assert re.search(r'<label for="id_code">[^<]*Code', page)
    assert 'autocomplete="one-time-code"' in page
    # The same secret while the page is reloaded, not a new device each time.
    client.get(ENROL_URL)
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_a_right_code_confirms_the_device_and_shows_the_recovery_codes_once(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    client.get(ENROL_URL)
    device = TOTPDevice.objects.get(user=agent)
    response = client.post(ENROL_URL, {"code": code_of(device)})
    assert response.status_code == 302
    assert response["Location"].startswith(CODES_URL)
    device.refresh_from_db()
    assert device.confirmed

    page = client.get(CODES_URL).content.decode()
    tokens = StaticToken.objects.filter(device__user=agent).values_list("token", flat=True)
    assert len(tokens) == 10
    for token in tokens:
        assert token in page
    assert "Conservez" in page
    # Shown once: a second visit does not show them again.
    again = client.get(CODES_URL).content.decode()
    assert not any(token in again for token in tokens)
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_is_refused_next_to_the_field_and_counts_as_a_failure(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    client.get(ENROL_URL)
    response = client.post(ENROL_URL, {"code": "000000"})
    assert response.status_code == 200
    assert "Ce code n'est pas valide" in html.unescape(response.content.decode())
    assert 'value="000000"' in response.content.decode()
    assert not TOTPDevice.objects.get(user=agent).confirmed
    assert failures("a.durand") == 1
    assert client.get(reverse("admin:index"))["Location"].startswith(ENROL_URL)


# --- later log-ins ------------------------------------------------------------------------------


def test_a_later_log_in_asks_for_the_code_of_the_app(client, agent):
    device = enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    page = client.get(VERIFY_URL)
    assert page.status_code == 200
    assert re.search(r'<label for="id_code">', page.content.decode())
    response = client.post(VERIFY_URL, {"code": code_of(device), "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_code_of_the_app_is_not_accepted_twice(client, agent):
    device = enrolled(agent)
    code = code_of(device)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    assert client.post(VERIFY_URL, {"code": code})["Location"]
    assert log_in(client, "a.durand", TEST_PASSWORD)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=5)):
        response = client.post(VERIFY_URL, {"code": code})
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_recovery_code_opens_the_admin_once(client, agent):
    enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    response = client.post(VERIFY_URL, {"code": "secours01"})
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert not StaticToken.objects.filter(token="secours01").exists()

    assert log_in(client, "a.durand", TEST_PASSWORD)
    response = client.post(VERIFY_URL, {"code": "secours01"})
    assert response.status_code == 200
    assert "Ce code n'est pas valide" in html.unescape(response.content.decode())
    assert client.get(reverse("admin:index")).status_code == 302


def test_five_wrong_codes_lock_the_identifier(client, agent, settings):
    enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(VERIFY_URL, {"code": "123456"}).status_code == 200
    response = client.post(VERIFY_URL, {"code": "123456"})
    assert response.status_code == 429
    assert "30 minutes" in response.content.decode()
    # The session is closed, and the password alone no longer opens one.
    assert "_auth_user_id" not in client.session
    assert not log_in(client, "a.durand", TEST_PASSWORD)


def test_logging_in_again_does_not_wipe_the_failures_of_the_second_factor(client, agent, settings):
    enrolled(agent)
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "a.durand", TEST_PASSWORD)
        client.post(VERIFY_URL, {"code": "123456"})
    assert failures("a.durand") == settings.AXES_FAILURE_LIMIT - 1
    assert log_in(client, "a.durand", TEST_PASSWORD)
    assert client.post(VERIFY_URL, {"code": "123456"}).status_code == 429


def test_the_right_code_typed_at_once_after_a_wrong_one_is_accepted(client, agent):
    # One lock only, the identifier's (five failures, SPEC §10): no hidden delay of django-otp's
    # own that would refuse a right code and count it as a sixth failure.
    device = enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    for _attempt in range(3):
        client.post(VERIFY_URL, {"code": "123456"})
    response = client.post(VERIFY_URL, {"code": code_of(device)})
    assert response.status_code == 302
    assert failures("a.durand") == 0


def test_the_second_factor_clears_the_failures(client, agent):
    device = enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    client.post(VERIFY_URL, {"code": "123456"})
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=3)):
        client.post(VERIFY_URL, {"code": code_of(device)})
    assert failures("a.durand") == 0


# --- reset by a superuser -----------------------------------------------------------------------


def reset_action(client, account, **extra):
    return client.post(
        reverse("admin:accounts_staffaccount_changelist"),
        {"action": "reinitialiser_facteurs", "_selected_action": [account.pk], **extra},
    )


def test_a_superuser_resets_the_factors_of_an_agent_after_a_confirmation(client, agent):
    enrolled(agent)
    superuser = SuperuserFactory()
    log_in_verified(client, superuser)
    confirmation = reset_action(client, agent)
    assert confirmation.status_code == 200
    assert "a.durand" in confirmation.content.decode()
    assert TOTPDevice.objects.filter(user=agent).exists()

    reset_action(client, agent, apply="1")
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not StaticDevice.objects.filter(user=agent).exists()
    entry = HistoryEntry.objects.for_object(agent).get(summary__startswith="Facteurs")
    assert entry.by == superuser
    assert entry.summary == "Facteurs d'authentification réinitialisés"
    history = client.get(reverse("admin:accounts_staffaccount_history", args=[agent.pk]))
    assert "Facteurs d'authentification réinitialisés" in html.unescape(history.content.decode())

    client.logout()
    assert log_in(client, "a.durand", TEST_PASSWORD)
    assert client.get(reverse("admin:index"))["Location"].startswith(ENROL_URL)


def test_an_agent_cannot_reset_factors(client, agent):
    other = AgentFactory(organisme=agent.organisme)
    enrolled(other)
    log_in_verified(client, agent)
    response = reset_action(client, other, apply="1")
    assert response.status_code in (302, 403)
    assert TOTPDevice.objects.filter(user=other).exists()
    assert not HistoryEntry.objects.for_object(other).exists()


def test_the_reset_needs_a_post(client, agent):
    enrolled(agent)
    log_in_verified(client, SuperuserFactory())
    client.get(
        reverse("admin:accounts_staffaccount_changelist"),
        {"action": "reinitialiser_facteurs", "_selected_action": agent.pk, "apply": "1"},
    )
    assert TOTPDevice.objects.filter(user=agent).exists()


def test_the_agent_being_reset_loses_the_session_verification(client, agent):
    """A session verified with a device that no longer exists is no longer verified."""
    log_in_verified(client, agent)
    assert client.get(reverse("admin:index")).status_code == 200
    TOTPDevice.objects.filter(user=agent).delete()
    assert client.get(reverse("admin:index"))["Location"].startswith(ENROL_URL)


def test_the_agents_admin_page_offers_the_reset_which_leads_to_the_confirmation(client, agent):
    admin_page = reverse("admin:accounts_staffaccount_change", args=[agent.pk])
    log_in_verified(client, SuperuserFactory())
    page = html.unescape(client.get(admin_page).content.decode())
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    assert form is not None and "Réinitialiser les facteurs d'authentification" in form[2]
    assert form[1] == reverse("admin:accounts_staffaccount_changelist")
    assert 'name="csrfmiddlewaretoken"' in form[2]
    assert "Double authentification" in page and "à activer" in page


# --- who may use the second factor's pages ------------------------------------------------------


def test_the_pages_of_the_second_factor_send_a_partner_home(client):
    gestionnaire = GestionnaireFactory()
    ConventionFactory(structure=gestionnaire.structure)
    client.force_login(gestionnaire)
    for url in (ENROL_URL, VERIFY_URL, CODES_URL):
        assert client.get(url)["Location"] == "/", url
    assert not TOTPDevice.objects.exists()


def test_the_pages_of_the_second_factor_need_the_password_first(client):
    for url in (ENROL_URL, VERIFY_URL, CODES_URL, reverse("accounts:passkey_verify_begin")):
        response = client.post(url) if "cle-d-acces" in url else client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/connexion/?next="), url


def test_a_passkey_cannot_be_added_by_a_session_that_has_not_given_its_factor(client, agent):
    """A thief holding the password of an enrolled agent cannot enrol a passkey of their own."""
    enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    response = client.post(reverse("accounts:passkey_register_begin"))
    assert response.status_code == 403
    assert "otp_webauthn_register_state" not in client.session


def test_a_partner_cannot_start_a_passkey_ceremony(client):
    gestionnaire = GestionnaireFactory()
    ConventionFactory(structure=gestionnaire.structure)
    client.force_login(gestionnaire)
    assert client.post(reverse("accounts:passkey_register_begin")).status_code == 403
    assert client.post(reverse("accounts:passkey_verify_begin")).status_code == 403


def test_an_agent_enrolling_starts_a_passkey_ceremony_for_this_site(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    options = client.post(reverse("accounts:passkey_register_begin")).json()
    assert options["rp"] == {"name": "Espace Partenaires", "id": "testserver"}
    assert options["user"]["name"] == "a.durand"


def test_a_session_whose_identifier_was_locked_elsewhere_is_closed(client, agent, settings):
    device = enrolled(agent)
    assert log_in(client, "a.durand", TEST_PASSWORD)
    thief = type(client)()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(thief, "a.durand", "not-the-password")
    response = client.post(VERIFY_URL, {"code": code_of(device)})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
