"""Log-in, log-out, sessions, lockout and the line between the portal and the admin (SPEC §3)."""

import datetime
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.security import client_ip
from accounts.sessions import SessionStore
from tests.factories import (
    TEST_PASSWORD,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import give_second_factor, log_in

pytestmark = pytest.mark.django_db


LOGIN_URL = "/connexion/"
ADMIN_LOGIN_URL = "/admin/login/"
WRONG_PASSWORD = "Pas-Le-Bon-Mot-De-Passe-1"
LOCKED_TEXT = (
    "Après 5 tentatives de connexion infructueuses, cet identifiant est bloqué pendant 30 minutes."
)
INVALID_LOGIN_TEXT = "Identifiant ou mot de passe incorrect. Après 5 essais infructueux"


def attempt(client, identifiant, password, url=LOGIN_URL, **extra):
    return client.post(url, {"username": identifiant, "password": password}, **extra)


def fail(client, identifiant, times, url=LOGIN_URL, **extra):
    return [attempt(client, identifiant, WRONG_PASSWORD, url, **extra) for _ in range(times)]


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def main_of(response) -> str:
    """The page's main content, without the CSRF token that changes on every rendering."""
    content = response.content.decode()
    content = content[content.index("<main") : content.index("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content)


# --- Log-in ---------------------------------------------------------------------------------


def test_the_log_in_page_is_in_french(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="fr">' in content
    for text in (
        "Connexion à Espace Partenaires",
        "Identifiant de connexion",
        "Mot de passe",
        "Se connecter",
        "Mot de passe oublié",
        "Identifiant oublié",
    ):
        assert text in content


def test_a_partner_logs_in_with_identifier_and_password_and_reaches_the_home_page(
    client, gestionnaire
):
    response = attempt(client, "m.pichon", TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(gestionnaire.pk)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert "Bienvenue sur Espace Partenaires." in response.content.decode()


def test_the_identifier_may_be_typed_in_any_case_with_stray_spaces(client, gestionnaire):
    attempt(client, "  M.Pichon ", TEST_PASSWORD)

    assert client.session["_auth_user_id"] == str(gestionnaire.pk)


def test_a_wrong_password_is_refused_with_a_french_message(client, gestionnaire):
    response = attempt(client, "m.pichon", WRONG_PASSWORD)

    assert response.status_code == 200
    assert INVALID_LOGIN_TEXT in response.content.decode()
    assert not is_logged_in(client)


def test_the_log_in_answers_the_same_for_an_unknown_identifier_and_a_wrong_password(
    client, gestionnaire
):
    known = attempt(client, "m.pichon", WRONG_PASSWORD)
    unknown = attempt(client, "x.inconnu", WRONG_PASSWORD)

    assert known.status_code == unknown.status_code == 200
    assert INVALID_LOGIN_TEXT in main_of(known)
    assert main_of(known).replace("m.pichon", "IDENTIFIANT") == main_of(unknown).replace(
        "x.inconnu", "IDENTIFIANT"
    )


def test_an_inactive_account_gets_the_same_answer_as_a_wrong_password(client, gestionnaire):
    wrong_password = attempt(client, "m.pichon", WRONG_PASSWORD)
    gestionnaire.is_active = False
    gestionnaire.inactivated_at = timezone.now()
    gestionnaire.save()

    inactive = attempt(client, "m.pichon", TEST_PASSWORD)

    assert not is_logged_in(client)
    assert main_of(inactive) == main_of(wrong_password)


def test_an_account_whose_password_was_never_set_cannot_log_in(client, gestionnaire):
    gestionnaire.set_unusable_password()
    gestionnaire.save()

    assert not log_in(client, "m.pichon", TEST_PASSWORD)
    assert not log_in(client, "m.pichon", "")


def test_pages_need_a_log_in(client, gestionnaire):
    for url in ("/", "/organisme/", "/mot-de-passe/"):
        response = client.get(url)

        assert response.status_code == 302, url
        assert response["Location"] == f"{LOGIN_URL}?next={url}"


def test_the_public_pages_open_without_a_log_in(client):
    for url in (
        LOGIN_URL,
        "/mot-de-passe-oublie/",
        "/mot-de-passe-oublie/envoye/",
        "/mot-de-passe-oublie/termine/",
        "/identifiant-oublie/",
        "/identifiant-oublie/envoye/",
        "/cgu/",
        "/aide/",
    ):
        assert client.get(url).status_code == 200, url


def test_after_log_in_the_person_goes_back_to_the_page_asked_for(client, gestionnaire):
    response = client.get("/mot-de-passe/", follow=True)
    assert response.redirect_chain == [(f"{LOGIN_URL}?next=/mot-de-passe/", 302)]

    response = client.post(
        LOGIN_URL,
        {"username": "m.pichon", "password": TEST_PASSWORD, "next": "/mot-de-passe/"},
    )

    assert response["Location"] == "/mot-de-passe/"


def test_logging_out_ends_the_session(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    assert client.get("/", follow=True).status_code == 200

    response = client.post("/deconnexion/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert not is_logged_in(client)
    assert client.get("/")["Location"] == f"{LOGIN_URL}?next=/"


def test_the_header_offers_to_log_out(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    content = client.get("/", follow=True).content.decode()

    assert 'action="/deconnexion/"' in content
    assert "Se déconnecter" in content


# --- Sessions -------------------------------------------------------------------------------


def test_sessions_last_30_minutes_from_the_last_request_and_end_with_the_browser():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_a_session_in_use_stays_open_past_30_minutes(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert log_in(client, "m.pichon", TEST_PASSWORD)
        assert client.get("/", follow=True).status_code == 200
        for _ in range(3):
            clock.shift(datetime.timedelta(minutes=29))
            response = client.get("/")

            assert response.status_code == 200
        assert is_logged_in(client)


def test_a_session_idle_for_more_than_30_minutes_expires(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert log_in(client, "m.pichon", TEST_PASSWORD)
        assert client.get("/", follow=True).status_code == 200

        clock.shift(datetime.timedelta(minutes=31))
        response = client.get("/")

        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN_URL}?next=/"


def stored_expiry(client) -> datetime.datetime:
    return Session.objects.get(
        session_key=client.cookies[settings.SESSION_COOKIE_NAME].value
    ).expire_date


def test_a_session_is_written_again_at_most_once_a_minute(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert log_in(client, "m.pichon", TEST_PASSWORD)
        assert client.get("/", follow=True).status_code == 200
        written = stored_expiry(client)

        clock.shift(datetime.timedelta(seconds=59))
        assert client.get("/").status_code == 200
        assert stored_expiry(client) == written

        clock.shift(datetime.timedelta(seconds=2))
        assert client.get("/").status_code == 200
        assert stored_expiry(client) == timezone.now() + datetime.timedelta(minutes=30)


def test_an_unchanged_session_costs_no_write(client, gestionnaire, django_assert_num_queries):
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    assert client.get("/", follow=True).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200

    assert not [q for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert [q for q in queries if "django_session" in q["sql"]]  # it was read


def test_a_changed_session_is_written_at_once():
    store = SessionStore()
    store["organisme_id"] = 1
    store.create()
    same = SessionStore(store.session_key)
    assert same["organisme_id"] == 1

    same["organisme_id"] = 2
    same.save()

    assert SessionStore(store.session_key)["organisme_id"] == 2


def test_the_session_cookie_ends_when_the_browser_closes(client, gestionnaire):
    attempt(client, "m.pichon", TEST_PASSWORD)

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert cookie["httponly"] is True


# --- Lockout (django-axes) ------------------------------------------------------------------


def test_four_failures_do_not_lock_the_identifier(client, gestionnaire):
    responses = fail(client, "m.pichon", 4)

    assert [response.status_code for response in responses] == [200] * 4
    assert log_in(client, "m.pichon", TEST_PASSWORD)


def test_the_fifth_failure_locks_the_identifier(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False):
        *_, fifth = fail(client, "m.pichon", 5)
        retry_at = (timezone.localtime() + datetime.timedelta(minutes=30)).strftime("%H:%M")

        assert fifth.status_code == 429
        content = fifth.content.decode()
        assert "Connexion temporairement bloquée" in content
        assert LOCKED_TEXT in content
        assert f"Vous pourrez réessayer à partir de {retry_at}." in content
        assert 'href="/mot-de-passe-oublie/"' in content

        right_password = attempt(client, "m.pichon", TEST_PASSWORD)

        assert right_password.status_code == 429
        assert LOCKED_TEXT in right_password.content.decode()
        assert not is_logged_in(client)


def test_the_lock_still_holds_after_29_minutes(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, "m.pichon", 5)

        clock.shift(datetime.timedelta(minutes=29))

        assert attempt(client, "m.pichon", TEST_PASSWORD).status_code == 429
        assert not is_logged_in(client)


def test_the_right_password_works_again_after_the_30_minute_cool_off(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, "m.pichon", 5)

        clock.shift(datetime.timedelta(minutes=30, seconds=1))

        assert log_in(client, "m.pichon", TEST_PASSWORD)
        assert client.get("/", follow=True).status_code == 200


def test_the_identifier_is_counted_whatever_its_case_and_spaces(client, gestionnaire):
    for typed in ("m.pichon", "M.Pichon", " m.pichon", "M.PICHON ", "m.Pichon"):
        response = attempt(client, typed, WRONG_PASSWORD)

    assert response.status_code == 429
    assert attempt(client, "m.pichon", TEST_PASSWORD).status_code == 429


def test_the_lock_holds_for_the_identifier_from_another_address_too(client, gestionnaire):
    """SPEC §10: the identifier itself is locked, from any address (see test_lockout.py)."""
    fail(client, "m.pichon", 5)

    other_device = Client(REMOTE_ADDR="192.0.2.50")
    response = attempt(other_device, "m.pichon", TEST_PASSWORD)

    assert response.status_code == 429
    assert not is_logged_in(other_device)


def test_the_lock_does_not_stop_another_identifier_from_the_same_address(client, gestionnaire):
    TechnicienFactory(identifiant="v.chausson", structure=gestionnaire.structure)
    fail(client, "m.pichon", 5)

    assert log_in(client, "v.chausson", TEST_PASSWORD)


def test_a_successful_log_in_resets_the_count_of_failures(client, gestionnaire):
    fail(client, "m.pichon", 4)
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    client.post("/deconnexion/")

    responses = fail(client, "m.pichon", 4)

    assert [response.status_code for response in responses] == [200] * 4
    assert log_in(client, "m.pichon", TEST_PASSWORD)


def test_an_unknown_identifier_is_locked_with_the_same_page(client, gestionnaire):
    with time_machine.travel(timezone.now(), tick=False):
        *_, known = fail(client, "m.pichon", 5)
        *_, unknown = fail(client, "x.inconnu", 5)

    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content


# --- The client's address behind the reverse proxy ------------------------------------------


def request_from(remote_addr, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


def test_without_a_proxy_the_address_is_the_connection_s_and_x_forwarded_for_is_ignored(
    settings,
):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_behind_one_proxy_the_address_is_the_last_one_of_x_forwarded_for(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.2", "198.51.100.7")) == "198.51.100.7"
    # Whatever the client wrote itself is on the left, and ignored.
    assert client_ip(request_from("10.0.0.2", "203.0.113.9, 198.51.100.7")) == "198.51.100.7"


def test_behind_two_proxies_the_address_is_the_second_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    forwarded = "203.0.113.9, 198.51.100.7 , 10.0.0.3"
    assert client_ip(request_from("10.0.0.2", forwarded)) == "198.51.100.7"


def test_a_header_shorter_than_the_proxy_chain_falls_back_to_the_connection_s_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_from("10.0.0.2", "198.51.100.7")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2")) == "10.0.0.2"


def test_behind_the_proxy_the_lock_applies_to_the_identifier_whatever_the_address(
    settings, gestionnaire
):
    settings.TRUSTED_PROXY_COUNT = 1
    locked_device = Client(REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": "198.51.100.7"})
    other_device = Client(REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": "203.0.113.9"})

    *_, fifth = fail(locked_device, "m.pichon", 5)

    assert fifth.status_code == 429
    # Another person behind the same proxy still logs in with an identifier of their own...
    TechnicienFactory(identifiant="v.chausson", structure=gestionnaire.structure)
    assert log_in(other_device, "v.chausson", TEST_PASSWORD)
    # ...and nobody gets in with the locked one, whatever address the header names.
    other_device.logout()
    assert attempt(other_device, "m.pichon", TEST_PASSWORD).status_code == 429


# --- The portal and the admin ---------------------------------------------------------------


def test_an_agent_logs_in_to_the_admin(client, agent):
    response = attempt(client, "a.durand", TEST_PASSWORD, url=f"{ADMIN_LOGIN_URL}?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/")["Location"].startswith("/connexion/second-facteur/")
    give_second_factor(client, "a.durand")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Administration des partenaires" in response.content.decode()


def test_a_superuser_logs_in_to_the_admin(client):
    SuperuserFactory(identifiant="s.national")

    attempt(client, "s.national", TEST_PASSWORD, url=f"{ADMIN_LOGIN_URL}?next=/admin/")

    assert is_logged_in(client)
    give_second_factor(client, "s.national")
    assert client.get("/admin/").status_code == 200


def test_the_portal_home_sends_an_agent_to_the_admin(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    give_second_factor(client, "a.durand")

    response = client.get("/", follow=True)

    assert response.redirect_chain == [("/admin/", 302)]
    assert response.status_code == 200


def test_an_agent_cannot_use_the_partner_portal(client, agent):
    assert log_in(client, "a.durand", TEST_PASSWORD)
    give_second_factor(client, "a.durand")

    response = client.get("/organisme/")

    assert response.status_code == 403
    content = response.content.decode()
    assert "Accès refusé" in content
    assert "Vous n'avez pas accès à cette page." in content
    assert 'href="/admin/"' in content


@pytest.mark.urls("tests.urls")
def test_every_portal_page_is_refused_to_an_agent_and_a_superuser(client, agent):
    SuperuserFactory(identifiant="s.national")
    for identifiant in ("a.durand", "s.national"):
        assert log_in(client, identifiant, TEST_PASSWORD)
        give_second_factor(client, identifiant)

        response = client.get("/page-partenaire/")

        assert response.status_code == 403, identifiant
        assert "Accès refusé" in response.content.decode()


@pytest.mark.urls("tests.urls")
def test_a_portal_page_needs_a_log_in_and_opens_to_a_partner(client, gestionnaire):
    assert client.get("/page-partenaire/")["Location"] == f"{LOGIN_URL}?next=/page-partenaire/"
    assert log_in(client, "m.pichon", TEST_PASSWORD)
    client.get("/", follow=True)  # the organisme is selected

    response = client.get("/page-partenaire/")

    assert response.status_code == 200
    assert response.content == b"Page partenaire"


def test_a_partner_cannot_enter_the_admin(client, gestionnaire):
    assert log_in(client, "m.pichon", TEST_PASSWORD)

    for url in ("/admin/", "/admin/accounts/"):
        response = client.get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{ADMIN_LOGIN_URL}?next=")
    page = client.get("/admin/", follow=True)
    assert "vous n’êtes pas autorisé à accéder à cette page" in page.content.decode()


def test_a_partner_cannot_log_in_through_the_admin_log_in_page(client, gestionnaire):
    response = attempt(client, "m.pichon", TEST_PASSWORD, url=f"{ADMIN_LOGIN_URL}?next=/admin/")

    assert response.status_code == 200
    assert not is_logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_the_admin_log_in_locks_the_identifier_at_the_fifth_failure_too(client, agent):
    *firsts, fifth = fail(client, "a.durand", 5, url=ADMIN_LOGIN_URL)

    assert [response.status_code for response in firsts] == [200] * 4
    assert fifth.status_code == 429
    assert LOCKED_TEXT in fifth.content.decode()
    assert attempt(client, "a.durand", TEST_PASSWORD, url=ADMIN_LOGIN_URL).status_code == 429
    assert attempt(client, "a.durand", TEST_PASSWORD).status_code == 429
    assert not is_logged_in(client)


def test_the_admin_log_in_counts_the_identifier_whatever_its_case(client, agent):
    for typed in ("a.durand", "A.Durand", " a.durand", "A.DURAND ", "a.Durand"):
        response = attempt(client, typed, WRONG_PASSWORD, url=ADMIN_LOGIN_URL)

    assert response.status_code == 429
    assert attempt(client, "a.durand", TEST_PASSWORD, url=ADMIN_LOGIN_URL).status_code == 429


def test_failures_on_the_portal_and_the_admin_count_together(client, agent):
    fail(client, "a.durand", 3)
    *_, fifth = fail(client, "a.durand", 2, url=ADMIN_LOGIN_URL)

    assert fifth.status_code == 429


def test_an_agent_gets_into_the_admin_again_after_the_cool_off(client, agent):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, "a.durand", 5, url=ADMIN_LOGIN_URL)
        clock.shift(datetime.timedelta(minutes=31))

        attempt(client, "a.durand", TEST_PASSWORD, url=ADMIN_LOGIN_URL)

        assert is_logged_in(client)
        give_second_factor(client, "a.durand")
        assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("url", [LOGIN_URL, ADMIN_LOGIN_URL])
def test_an_identifier_of_300_characters_is_a_wrong_log_in_not_an_error_page(client, url):
    """django-axes records the identifier in a 255-character column: PostgreSQL refused the
    insert and the page was a 500."""
    response = attempt(client, "a" * 300, WRONG_PASSWORD, url=url)

    assert response.status_code == 200
    assert all(len(row.username) <= 255 for row in AccessAttempt.objects.all())
