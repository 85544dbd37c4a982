"""Issue 20, item 1: the login chain read by hand-written SQL (accounts/login_chain.py) decides
exactly as the ORM's reading, on every state of an account, its structure and its conventions;
and nothing is cached: a change in the database counts from the very next request."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import login_chain, services
from accounts.backends import AccountBackend
from accounts.middleware import SESSION_ORGANISME_KEY
from accounts.models import User
from accounts.second_factor import requires_second_factor
from accounts.selection import organisme_choices
from accounts.sessions import SessionStore
from conventions.models import Convention
from organismes.models import StructurePartenaire
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

D = datetime.date
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TODAY = D(2026, 3, 10)
HISTORY_URL = reverse("demandes:list")
SELECTION_URL = reverse("accounts:organisme_selection")
LOGIN_URL = reverse("accounts:login")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=PARIS), tick=False) as t:
        yield t


def days(n: int) -> D:
    return TODAY + datetime.timedelta(days=n)


def convention(structure, nom: str, *, organisme=None, **dates) -> Convention:
    organisme = organisme or OrganismeFactory(nom=nom)
    return ConventionFactory(structure=structure, organisme=organisme, **dates)


# --- Every state, built ---------------------------------------------------------------------


def en_cours():
    user = TechnicienFactory()
    convention(user.structure, "CPAM EN COURS", date_debut=days(-30))
    return user


def gestionnaire_ending_soon():
    user = GestionnaireFactory()
    convention(user.structure, "CPAM BIENTOT FINIE", date_debut=days(-300), date_fin=days(10))
    return user


def inactive():
    user = en_cours()
    User.objects.filter(pk=user.pk).update(is_active=False, inactivated_at=timezone.now())
    return user


def suspended_structure():
    user = en_cours()
    StructurePartenaire.objects.filter(pk=user.structure_id).update(suspended_at=timezone.now())
    return user


def a_venir():
    user = TechnicienFactory()
    convention(user.structure, "CPAM A VENIR", date_debut=days(20))
    return user


def terminee():
    user = TechnicienFactory()
    convention(user.structure, "CPAM TERMINEE", date_debut=days(-200), date_fin=days(-1))
    return user


def ends_today():
    user = TechnicienFactory()
    convention(user.structure, "CPAM FIN AUJOURD'HUI", date_debut=days(-200), date_fin=TODAY)
    return user


def no_convention():
    return TechnicienFactory()


def cgu_pending():
    user = en_cours()
    User.objects.filter(pk=user.pk).update(cgu_version="", cgu_accepted_at=None)
    return user


def password_expired():
    user = en_cours()
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=400)
    )
    return user


def password_never_set():
    user = en_cours()
    User.objects.filter(pk=user.pk).update(password_changed_at=None)
    return user


def several_organismes():
    """Names out of creation order, an ended one, a renewal already signed with one of them
    (not 'ending soon'), one ending soon, one à venir."""
    user = GestionnaireFactory()
    structure = user.structure
    convention(structure, "CPAM ZETA", date_debut=days(-10))
    renewed = OrganismeFactory(nom="CPAM BETA")
    convention(structure, "", organisme=renewed, date_debut=days(-300), date_fin=days(5))
    convention(structure, "", organisme=renewed, date_debut=days(6), date_fin=days(400))
    convention(structure, "CPAM ALPHA", date_debut=days(-300), date_fin=days(29))
    convention(structure, "CPAM TERMINEE", date_debut=days(-300), date_fin=days(-2))
    convention(structure, "CPAM GAMMA", date_debut=days(40))
    return user


def conventions_of_another_structure():
    user = en_cours()
    convention(StructureFactory(), "CPAM D'UNE AUTRE", date_debut=days(-30))
    return user


def agent():
    return AgentFactory()


def inactive_agent():
    user = AgentFactory()
    User.objects.filter(pk=user.pk).update(is_active=False, inactivated_at=timezone.now())
    return user


def superuser():
    return SuperuserFactory()


STATES = [
    en_cours,
    gestionnaire_ending_soon,
    inactive,
    suspended_structure,
    a_venir,
    terminee,
    ends_today,
    no_convention,
    cgu_pending,
    password_expired,
    password_never_set,
    several_organismes,
    conventions_of_another_structure,
    agent,
    inactive_agent,
    superuser,
]


# --- The two readings -----------------------------------------------------------------------


def values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def decisions(user: User | None, choices) -> dict:
    """What the backend and AccountPolicyMiddleware decide from a reading."""
    if user is None:
        return {"user": None}
    return {
        "user": values(user),
        "structure": None if user.structure is None else values(user.structure),
        "can_authenticate": AccountBackend().user_can_authenticate(user),
        "password_expired": services.password_expired(user),
        "needs_cgu": services.needs_cgu(user),
        "is_staff": user.is_staff,
        "is_partner": user.is_partner,
        "second_factor": requires_second_factor(user),
        "choices": [
            (
                values(choice.organisme),
                values(choice.convention),
                choice.ends_soon,
                choice.end_date,
            )
            for choice in choices
        ],
    }


def by_orm(user_id) -> dict:
    """The ORM's reading, as AccountBackend and the middleware did before the chain."""
    try:
        user = User.objects.select_related("structure").get(pk=user_id)
    except (User.DoesNotExist, ValueError):
        return decisions(None, [])
    choices = organisme_choices(user.structure) if user.structure_id else []
    return decisions(user, choices)


def by_sql(user_id) -> dict:
    user = login_chain.read_user(user_id)
    if user is None:
        return decisions(None, [])
    choices = login_chain.organisme_choices_of(user) if user.structure_id else []
    return decisions(user, choices)


@pytest.mark.parametrize("state", STATES, ids=lambda state: state.__name__)
def test_the_sql_reading_decides_as_the_orm_on_every_state(state):
    user = state()

    orm, sql = by_orm(user.pk), by_sql(user.pk)

    assert sql == orm
    assert sql["user"]["id"] == user.pk


def test_the_states_cover_every_decision():
    """The states above are not all alike: each decision takes both its values among them."""
    seen = [by_orm(state().pk) for state in STATES]

    for key in ("can_authenticate", "password_expired", "needs_cgu", "is_staff", "is_partner"):
        assert {d[key] for d in seen} == {True, False}, key
    assert {len(d["choices"]) for d in seen} >= {0, 1, 4}
    assert {c[2] for d in seen for c in d["choices"]} == {True, False}  # ends soon or not


@pytest.mark.parametrize("user_id", ["999999", "abc", ""])
def test_an_unknown_or_malformed_user_id_reads_nobody(user_id):
    assert by_sql(user_id) == by_orm(user_id) == {"user": None}


def test_the_session_is_read_as_django_reads_it():
    store = SessionStore()
    store["organisme_id"] = 7
    store.create()
    row = Session.objects.get(session_key=store.session_key)

    read = login_chain.read_session(store.session_key)

    assert (read.session_key, read.session_data, read.expire_date) == (
        row.session_key,
        row.session_data,
        row.expire_date,
    )
    assert SessionStore(store.session_key).load() == {"organisme_id": 7}


def test_an_expired_or_unknown_session_reads_nothing(frozen_clock):
    store = SessionStore()
    store["organisme_id"] = 7
    store.create()

    assert login_chain.read_session("x" * 32) is None
    frozen_clock.shift(datetime.timedelta(minutes=31))
    assert login_chain.read_session(store.session_key) is None
    assert SessionStore(store.session_key).load() == {}


# --- One round trip for the user, its structure and its conventions ---------------------------


def test_a_partner_request_reads_session_then_user_with_conventions_in_two_queries(client):
    user = several_organismes()
    log_in_verified(client, user)
    organisme = organisme_choices(user.structure)[0].organisme
    client.post(SELECTION_URL, {"organisme": organisme.pk, "continuer": "1"})
    assert client.get(SELECTION_URL).status_code == 200  # warm up

    with CaptureQueriesContext(connection) as queries:
        assert client.get(SELECTION_URL).status_code == 200

    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    assert "django_session" in statements[0]
    assert "accounts_user" in statements[1] and "conventions_convention" in statements[1]


# --- No cache: the next request sees the change ----------------------------------------------


def logged_in_partner(client) -> User:
    user = en_cours()
    log_in_verified(client, user)
    session = client.session
    session[SESSION_ORGANISME_KEY] = user.structure.conventions.get().organisme_id
    session.save()
    assert client.get(HISTORY_URL).status_code == 200
    return user


def test_a_deactivated_account_is_refused_on_the_next_request(client):
    user = logged_in_partner(client)

    User.objects.filter(pk=user.pk).update(is_active=False, inactivated_at=timezone.now())

    response = client.get(HISTORY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_a_suspended_structure_is_refused_on_the_next_request(client):
    user = logged_in_partner(client)

    StructurePartenaire.objects.filter(pk=user.structure_id).update(suspended_at=timezone.now())

    response = client.get(HISTORY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_an_ended_convention_grants_nothing_from_the_next_request(client):
    user = logged_in_partner(client)

    Convention.objects.filter(structure=user.structure).update(date_fin=days(-1))

    response = client.get(HISTORY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(SELECTION_URL)
    assert SESSION_ORGANISME_KEY not in client.session


def test_a_convention_ending_today_lapses_at_midnight(client, frozen_clock):
    frozen_clock.move_to(datetime.datetime(2026, 3, 10, 23, 50, tzinfo=PARIS))
    user = logged_in_partner(client)
    Convention.objects.filter(structure=user.structure).update(date_fin=TODAY)
    assert client.get(HISTORY_URL).status_code == 200

    frozen_clock.move_to(datetime.datetime(2026, 3, 11, 0, 0, 1, tzinfo=PARIS))

    response = client.get(HISTORY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(SELECTION_URL)


def test_a_changed_password_ends_the_other_sessions_on_their_next_request(client):
    user = logged_in_partner(client)

    user.set_password("un autre mot de passe assez long")
    user.save(update_fields=["password"])

    response = client.get(HISTORY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
