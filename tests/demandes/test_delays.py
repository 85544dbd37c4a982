"""Issue 18, item 6: the target delays of the fund's work queue (working days since sent, per
urgency, set on the organisme), the age and "en retard" in the agents' list, and the usual
processing time shown to partners (9th decile of the time to close over 90 days, from 20 closed
demandes)."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conventions.models import Offre
from core.workdays import earliest_within, easter, is_working_day, working_days_between
from demandes import delays, services
from demandes.models import DelaiCibleOffre, Demande
from tests.factories import AgentFactory, OrganismeFactory, StructureFactory, TechnicienFactory
from tests.helpers import log_in_verified, make_demande, with_all_offres

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
D = datetime.date


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


# --- Working days ---------------------------------------------------------------------------


def test_easter_and_the_french_public_holidays():
    assert easter(2026) == D(2026, 4, 5)
    assert easter(2027) == D(2027, 3, 28)
    assert not is_working_day(D(2026, 4, 6))  # lundi de Pâques
    assert not is_working_day(D(2026, 5, 14))  # Ascension
    assert not is_working_day(D(2026, 5, 25))  # lundi de Pentecôte
    assert not is_working_day(D(2026, 7, 14))
    assert not is_working_day(D(2026, 12, 5))  # a Saturday
    assert is_working_day(D(2026, 12, 4))


def test_working_days_skip_weekends_and_holidays():
    assert working_days_between(D(2026, 12, 4), D(2026, 12, 4)) == 0
    assert working_days_between(D(2026, 12, 4), D(2026, 12, 7)) == 1  # Friday → Monday
    assert working_days_between(D(2026, 12, 5), D(2026, 12, 7)) == 1  # Saturday → Monday
    assert working_days_between(D(2026, 12, 24), D(2026, 12, 28)) == 1  # over Christmas
    # 2026: 260 weekdays after Thursday 1 January, 8 of them public holidays.
    assert working_days_between(D(2026, 1, 1), D(2026, 12, 31)) == 260 - 8
    for today in (D(2026, 12, 7), D(2027, 1, 4), D(2027, 1, 12)):
        for days in (1, 2, 10):
            first = earliest_within(days, today)
            assert working_days_between(first, today) == days
            assert working_days_between(first - datetime.timedelta(days=1), today) > days


# --- The agents' list -----------------------------------------------------------------------


@pytest.fixture
def organisme():
    return OrganismeFactory(nom="CPAM DE L'OISE")


@pytest.fixture
def convention(organisme):
    convention = with_all_offres(
        organisme=organisme, structure=StructureFactory(), date_debut=D(2025, 1, 1)
    )
    return convention


@pytest.fixture
def technicien(convention):
    return TechnicienFactory(structure=convention.structure)


@pytest.fixture
def agent_client(client, organisme):
    log_in_verified(client, AgentFactory(organisme=organisme))
    return client


def sent_at(moment, technicien, convention, **data) -> Demande:
    with time_machine.travel(moment, tick=False):
        return make_demande(technicien, convention, **data)


URGENT = {"urgent": True, "categorie_urgence": "suivi-ame"}


@pytest.fixture
def week(technicien, convention):
    """Sent on Monday 30 November, Wednesday 2 and Thursday 3 December 2026 (Tuesday 1st is
    today's eve), urgent and not."""
    return {
        "urgent_monday": sent_at(paris(2026, 11, 30, 9), technicien, convention, **URGENT),
        "urgent_wednesday": sent_at(paris(2026, 12, 2, 9), technicien, convention, **URGENT),
        "monday": sent_at(paris(2026, 11, 30, 9), technicien, convention),
        "old": sent_at(paris(2026, 11, 13, 9), technicien, convention),
    }


def test_age_and_overdue_from_the_row(week):
    thursday = D(2026, 12, 3)
    assert week["urgent_monday"].age_jours_ouvres(thursday) == 3
    assert week["urgent_monday"].is_en_retard(thursday)  # 3 > 2
    assert not week["urgent_wednesday"].is_en_retard(thursday)
    assert not week["monday"].is_en_retard(thursday)  # 3 ≤ 10
    assert week["old"].age_jours_ouvres(thursday) == 14
    assert week["old"].is_en_retard(thursday)


def test_the_queryset_says_what_the_row_says(week, organisme, technicien, convention):
    for today in (D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 14), D(2026, 12, 31)):
        overdue = set(Demande.objects.en_retard(today))
        assert overdue == {d for d in Demande.objects.all() if d.is_en_retard(today)}, today
    assert set(Demande.objects.en_retard(D(2026, 12, 3))) == {week["urgent_monday"], week["old"]}


def test_the_organismes_own_delays_apply(week, organisme):
    organisme.delai_cible_urgent_jours = 5
    organisme.delai_cible_jours = 15
    organisme.save()
    thursday = D(2026, 12, 3)
    assert set(Demande.objects.en_retard(thursday)) == set()
    assert not Demande.objects.get(pk=week["urgent_monday"].pk).is_en_retard(thursday)


def test_an_offers_own_delays_apply_to_its_demandes_only(week, organisme, technicien, convention):
    # The organisme wants its rendez-vous faster (2 working days) and gives its urgent ones 5.
    DelaiCibleOffre.objects.create(
        organisme=organisme,
        offre=Offre.objects.get(code="rendez-vous"),
        delai_urgent_jours=5,
        delai_jours=2,
    )
    document = sent_at(paris(2026, 11, 30, 9), technicien, convention, offre="document")
    thursday = D(2026, 12, 3)

    rows = {name: Demande.objects.get(pk=d.pk) for name, d in week.items()}
    assert rows["monday"].is_en_retard(thursday)  # 3 > 2
    assert not rows["urgent_monday"].is_en_retard(thursday)  # 3 <= 5
    assert not Demande.objects.get(pk=document.pk).is_en_retard(thursday)  # 3 <= 10
    overdue = set(Demande.objects.en_retard(thursday))
    assert overdue == {rows["monday"], rows["old"]}
    assert overdue == {d for d in Demande.objects.all() if d.is_en_retard(thursday)}


@time_machine.travel(paris(2026, 12, 3, 10), tick=False)
def test_the_list_shows_an_offers_own_delay_without_a_query_per_row(
    client, agent, organisme, technicien, convention
):
    agent_client = client
    log_in_verified(agent_client, agent)  # today, Thursday 3 December
    DelaiCibleOffre.objects.create(
        organisme=organisme,
        offre=Offre.objects.get(code="rendez-vous"),
        delai_urgent_jours=1,
        delai_jours=1,
    )
    url = reverse("admin:demandes_demande_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            agent_client.get(url)
        return len(captured)

    late = sent_at(paris(2026, 11, 30, 9), technicien, convention)  # 3 working days > 1
    page = agent_client.get(url).content.decode()
    row = re.search(rf"{late.reference}.*?</tr>", page, re.S).group(0)
    assert "en retard" in row
    with_1 = queries()
    for _n in range(20):
        sent_at(paris(2026, 11, 30, 9), technicien, convention)
    assert queries() == with_1


def test_a_closed_demande_is_never_overdue(week, organisme):
    agent = AgentFactory(organisme=organisme)
    services.cloturer(by=agent, demande=week["old"], reponse="Fait.")
    assert week["old"] not in Demande.objects.en_retard(D(2026, 12, 31))


@time_machine.travel(paris(2026, 12, 3, 10), tick=False)
def test_the_list_shows_the_age_and_a_badge_and_filters_the_overdue(client, agent, week):
    agent_client = client
    log_in_verified(agent_client, agent)  # today, Thursday 3 December
    url = reverse("admin:demandes_demande_changelist")
    response = agent_client.get(url)
    page = response.content.decode()
    assert "Âge" in page
    row = re.search(rf"{week['urgent_monday'].reference}.*?</tr>", page, re.S).group(0)
    assert "3 j" in row
    assert 'class="badge badge-retard"' in row and "en retard" in row
    row = re.search(rf"{week['urgent_wednesday'].reference}.*?</tr>", page, re.S).group(0)
    assert "en retard" not in row

    response = agent_client.get(url, {"en_retard": "oui"})
    shown = {d.reference for d in response.context["cl"].result_list}
    assert shown == {week["urgent_monday"].reference, week["old"].reference}
    response = agent_client.get(url, {"en_retard": "non"})
    shown = {d.reference for d in response.context["cl"].result_list}
    assert shown == {week["urgent_wednesday"].reference, week["monday"].reference}


def test_the_list_with_its_age_column_makes_as_many_queries_for_30_as_for_3(
    agent_client, technicien, convention
):
    def count_queries(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(reverse("admin:demandes_demande_changelist"), params)
        assert response.status_code == 200
        return len(queries)

    for _n in range(3):
        make_demande(technicien, convention, **URGENT)
    with_3, filtered_3 = count_queries(), count_queries(en_retard="oui")
    for _n in range(27):
        make_demande(technicien, convention)
    assert count_queries() == with_3
    assert count_queries(en_retard="oui") == filtered_3


# --- The usual processing time shown to partners --------------------------------------------


def close_after(technicien, convention, agent, days: list[float], offre="rendez-vous"):
    """Demandes sent on 1 October 2026 and closed `day` days later, each."""
    for n, day in enumerate(days):
        sent = paris(2026, 10, 1, 9) + datetime.timedelta(minutes=n)
        demande = sent_at(sent, technicien, convention, offre=offre)
        with time_machine.travel(sent + datetime.timedelta(days=day), tick=False):
            services.cloturer(by=agent, demande=demande, reponse="Fait.")


@pytest.fixture
def agent(organisme):
    return AgentFactory(organisme=organisme)


NOW = paris(2026, 12, 1, 10)


def usual(convention, offre="rendez-vous"):
    return delays.usual_processing_days(
        convention.organisme, Offre.objects.get(code=offre), now=NOW
    )


def test_nothing_is_shown_under_20_closed_demandes(technicien, convention, agent):
    close_after(technicien, convention, agent, [1] * 19)
    make_demande(technicien, convention)  # open: not counted
    assert usual(convention) is None
    close_after(technicien, convention, agent, [1])
    assert usual(convention) == 1


def test_the_9th_decile_of_the_time_to_close(technicien, convention, agent):
    # 20 demandes: 18 closed within 3 days, 2 in 30 (DST ends meanwhile: 29.5 days + 1 hour),
    # so 9 out of 10 in 3 days or less.
    close_after(technicien, convention, agent, [0.5] * 10 + [2.2] * 7 + [2.9] + [29.5, 29.5])
    assert usual(convention) == 3
    close_after(technicien, convention, agent, [29.5])  # 21: the 19th is now beyond 3 days
    assert usual(convention) == 30


def test_only_the_last_90_days_that_offer_and_that_organisme_count(technicien, convention, agent):
    close_after(technicien, convention, agent, [1] * 20)
    close_after(technicien, convention, agent, [5] * 20, offre="document")
    assert usual(convention) == 1
    assert usual(convention, "document") == 5
    other = with_all_offres(organisme=OrganismeFactory(), structure=convention.structure)
    assert usual(other) is None
    with time_machine.travel(paris(2027, 1, 15), tick=False):  # closed 2 Oct: > 90 days ago
        assert (
            delays.usual_processing_days(convention.organisme, Offre.objects.get(code="document"))
            is None
        )


def test_one_query(technicien, convention, agent, django_assert_num_queries):
    close_after(technicien, convention, agent, [1] * 20)
    offre = Offre.objects.get(code="rendez-vous")
    with django_assert_num_queries(1):
        delays.usual_processing_days(convention.organisme, offre, now=NOW)


@time_machine.travel(NOW, tick=False)
def test_the_partner_sees_it_on_the_form_and_on_the_demande(client, technicien, convention, agent):
    close_after(technicien, convention, agent, [2.5] * 20)
    log_in_verified(client, technicien)
    client.get(reverse("accounts:organisme_selection"))
    expected = "9 demandes sur 10 sont clôturées en 3 jours ou moins"
    page = client.get(reverse("demandes:create", args=["rendez-vous"])).content.decode()
    assert expected in page
    demande = make_demande(technicien, convention)
    page = client.get(reverse("demandes:detail", args=[demande.pk])).content.decode()
    assert expected in page
    # Another offer, without 20 closed demandes: nothing.
    page = client.get(reverse("demandes:create", args=["document"])).content.decode()
    assert "9 demandes sur 10" not in page


def test_the_pages_compute_it_once_an_hour(client, technicien, convention, agent):
    with time_machine.travel(NOW, tick=False):
        close_after(technicien, convention, agent, [2.5] * 19)
        log_in_verified(client, technicien)
        client.get(reverse("accounts:organisme_selection"))
        url = reverse("demandes:create", args=["rendez-vous"])
        assert "9 demandes sur 10" not in client.get(url).content.decode()
    with time_machine.travel(NOW + datetime.timedelta(minutes=5), tick=False):
        close_after(technicien, convention, agent, [2.5])  # sent on 1 October: the 20th
        assert "9 demandes sur 10" not in client.get(url).content.decode()  # cached
    with time_machine.travel(NOW + datetime.timedelta(minutes=61), tick=False):
        log_in_verified(client, technicien)  # the session's idle timeout has passed
        client.get(reverse("accounts:organisme_selection"))
        assert "9 demandes sur 10" in client.get(url).content.decode()
