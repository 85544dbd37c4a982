"""'Revue des habilitations' (SPEC §10, issue 17 item 5): the gestionnaire confirms or
inactivates each active technicien of the structure; the review is recorded, and the fund sees
in the admin when each structure was last reviewed, and by whom, and which reviews are late."""

import datetime
import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccountEvent, HabilitationReview
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    GestionnaireFactory,
    StructureFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

from ..jobs.conftest import paris

pytestmark = pytest.mark.django_db

URL = reverse("accounts:habilitation_review")


def squeeze(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(autouse=True)
def six_months(settings):
    settings.HABILITATION_REVIEW_MONTHS = 6


@pytest.fixture
def convention(now):
    now(2026, 7, 10, 10, 0)
    return ConventionFactory(
        structure=StructureFactory(nom="CCAS DE CREIL"), date_debut=datetime.date(2025, 1, 5)
    )


@pytest.fixture
def gestionnaire(convention):
    return GestionnaireFactory(
        structure=convention.structure, prenom="Pierre", nom_patronymique="FORT"
    )


@pytest.fixture
def techniciens(convention):
    structure = convention.structure
    return {
        "maryse": TechnicienFactory(
            structure=structure,
            prenom="Maryse",
            nom_patronymique="PICHON",
            identifiant="m.pichon",
            last_login=paris(2026, 3, 3, 10, 5),
        ),
        "victor": TechnicienFactory(
            structure=structure,
            prenom="Victor",
            nom_patronymique="CHAUSSON",
            identifiant="v.chausson",
            last_login=None,
        ),
        "ancien": TechnicienFactory(
            structure=structure,
            prenom="Paul",
            nom_patronymique="ANCIEN",
            is_active=False,
            inactivated_at=paris(2026, 1, 1, 9, 0),
        ),
    }


def client_of(user) -> Client:
    client = Client()
    log_in_verified(client, user)
    client.get(reverse("accounts:organisme_selection"))  # one convention: selected at once
    return client


@pytest.fixture
def gestionnaire_client(gestionnaire):
    return client_of(gestionnaire)


def decisions(**by_technicien) -> dict:
    return {f"decision_{account.pk}": choice for account, choice in by_technicien.values()}


def test_the_page_lists_the_active_techniciens_with_their_last_log_in(
    gestionnaire_client, techniciens
):
    other = TechnicienFactory(prenom="Autre", nom_patronymique="STRUCTURE")

    response = gestionnaire_client.get(URL)

    assert response.status_code == 200
    text = squeeze(re.sub(r"<[^>]+>", " ", response.text))
    assert "Revue des habilitations" in text
    assert "Madame CHAUSSON Victor (v.chausson) Dernière connexion : jamais" in text
    assert "Madame PICHON Maryse (m.pichon) Dernière connexion : 3 mars 2026 à 10:05" in text
    assert text.index("CHAUSSON") < text.index("PICHON")
    assert "ANCIEN" not in text
    assert other.nom not in text
    assert "Aucune revue des habilitations n'a encore été enregistrée" in text
    for account in (techniciens["maryse"], techniciens["victor"]):
        assert f'name="decision_{account.pk}" value="confirmer"' in response.text
        assert f'name="decision_{account.pk}" value="inactiver"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text


def test_confirming_one_and_inactivating_another_records_the_review(
    gestionnaire_client, gestionnaire, techniciens
):
    maryse, victor = techniciens["maryse"], techniciens["victor"]

    response = gestionnaire_client.post(
        URL, {f"decision_{maryse.pk}": "confirmer", f"decision_{victor.pk}": "inactiver"}
    )

    assert response.status_code == 302
    assert response["Location"] == URL
    victor.refresh_from_db()
    maryse.refresh_from_db()
    assert not victor.is_active
    assert maryse.is_active
    assert victor.events.get(kind=AccountEvent.Kind.INACTIVATED).by == gestionnaire
    confirmed = maryse.events.get(kind=AccountEvent.Kind.HABILITATION_CONFIRMED)
    assert confirmed.by == gestionnaire
    review = HabilitationReview.objects.get()
    assert (review.structure, review.by, review.at) == (
        gestionnaire.structure,
        gestionnaire,
        paris(2026, 7, 10, 10, 0),
    )
    assert (review.confirmed, review.inactivated) == (1, 1)

    page = gestionnaire_client.get(URL)
    assert [squeeze(str(m)) for m in page.context["messages"]] == [
        "La revue des habilitations est enregistrée : 1 compte confirmé, 1 compte inactivé."
    ]
    text = squeeze(re.sub(r"<[^>]+>", " ", page.text))
    assert "Dernière revue le 10 juillet 2026 par Pierre FORT" in text
    assert "CHAUSSON" not in text  # no longer active: no longer to review


def test_a_decision_left_out_is_shown_next_to_the_technicien_and_nothing_is_saved(
    gestionnaire_client, techniciens
):
    maryse, victor = techniciens["maryse"], techniciens["victor"]

    response = gestionnaire_client.post(URL, {f"decision_{victor.pk}": "inactiver"})

    assert response.status_code == 200
    assert re.search(
        rf'id="decision_{maryse.pk}_error">\s*<li>Choisissez de confirmer ou d\'inactiver ce '
        r"compte\.</li>",
        html.unescape(response.text),
    )
    # What was chosen is kept.
    assert re.search(rf'name="decision_{victor.pk}" value="inactiver"[^>]* checked', response.text)
    victor.refresh_from_db()
    assert victor.is_active
    assert not HabilitationReview.objects.exists()


def test_the_last_active_technicien_cannot_be_inactivated_and_nothing_is_saved(
    gestionnaire_client, techniciens
):
    maryse, victor = techniciens["maryse"], techniciens["victor"]

    response = gestionnaire_client.post(
        URL, {f"decision_{maryse.pk}": "inactiver", f"decision_{victor.pk}": "inactiver"}
    )

    assert response.status_code == 200
    assert "C'est le dernier technicien actif de la structure" in html.unescape(response.text)
    maryse.refresh_from_db()
    victor.refresh_from_db()
    assert maryse.is_active and victor.is_active
    assert not HabilitationReview.objects.exists()
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.INACTIVATED).exists()


def test_another_structures_technicien_cannot_be_inactivated_through_the_review(
    gestionnaire_client, techniciens
):
    other = TechnicienFactory()
    TechnicienFactory(structure=other.structure)
    maryse, victor = techniciens["maryse"], techniciens["victor"]

    gestionnaire_client.post(
        URL,
        {
            f"decision_{maryse.pk}": "confirmer",
            f"decision_{victor.pk}": "confirmer",
            f"decision_{other.pk}": "inactiver",
        },
    )

    other.refresh_from_db()
    assert other.is_active
    assert HabilitationReview.objects.get().confirmed == 2


def test_only_the_structures_gestionnaires_reach_the_page(convention, techniciens):
    assert Client().get(URL).status_code == 302  # to the log-in page
    technicien_client = client_of(techniciens["maryse"])
    assert technicien_client.get(URL).status_code == 403
    assert technicien_client.post(URL, {}).status_code == 403


@pytest.mark.parametrize("count", [3, 25])
def test_the_page_takes_the_same_number_of_queries_with_3_or_25_techniciens(
    gestionnaire_client, gestionnaire, convention, count, django_assert_num_queries
):
    TechnicienFactory.create_batch(count, structure=convention.structure)
    HabilitationReview.objects.create(structure=convention.structure, by=gestionnaire)

    with django_assert_num_queries(QUERIES_OF_THE_PAGE):
        response = gestionnaire_client.get(URL)

    assert response.status_code == 200
    assert response.text.count('value="confirmer"') == count


# Session, account with its structure and its conventions (one statement, accounts/login_chain.py;
# 5 before issue 20), the structure's last review, the active techniciens, the messages' session
# write aside.
QUERIES_OF_THE_PAGE = 4


def test_the_home_page_links_to_the_review_when_it_is_due(
    now, gestionnaire_client, gestionnaire, techniciens
):
    home = gestionnaire_client.get(reverse("home"))
    assert "Revue des habilitations à faire" in home.text
    assert f'href="{URL}"' in home.text

    HabilitationReview.objects.create(structure=gestionnaire.structure, by=gestionnaire)
    home = gestionnaire_client.get(reverse("home"))
    assert "Revue des habilitations à faire" not in home.text


# --- The fund's view, in the admin ----------------------------------------------------------


@pytest.fixture
def agent_client(convention):
    client = Client()
    log_in_verified(client, AgentFactory(organisme=convention.organisme))
    return client


def test_the_agent_sees_the_last_review_and_who_did_it(
    now, agent_client, convention, gestionnaire, techniciens
):
    never = ConventionFactory(
        organisme=convention.organisme, structure=StructureFactory(nom="ASSOCIATION SANS REVUE")
    ).structure
    HabilitationReview.objects.create(
        structure=convention.structure,
        by=gestionnaire,
        at=paris(2026, 6, 2, 15, 30),
        confirmed=2,
        inactivated=1,
    )

    changelist = agent_client.get(reverse("admin:organismes_structurepartenaire_changelist"))
    text = squeeze(re.sub(r"<[^>]+>", " ", changelist.text))
    assert "Dernière revue des habilitations" in text
    assert "2 juin 2026, Pierre FORT" in text
    change = agent_client.get(
        reverse("admin:organismes_structurepartenaire_change", args=[convention.structure.pk])
    )
    text = squeeze(re.sub(r"<[^>]+>", " ", change.text))
    assert (
        "Dernière revue des habilitations : 2 juin 2026 par Pierre FORT (2 comptes confirmés, "
        "1 inactivé)" in text
    )
    change = agent_client.get(
        reverse("admin:organismes_structurepartenaire_change", args=[never.pk])
    )
    assert "aucune revue enregistrée" in change.text


def test_a_review_whose_author_was_purged_says_so(agent_client, convention, gestionnaire):
    HabilitationReview.objects.create(
        structure=convention.structure, by=None, at=paris(2026, 6, 2, 15, 30)
    )
    changelist = agent_client.get(reverse("admin:organismes_structurepartenaire_changelist"))
    assert "2 juin 2026, compte supprimé" in squeeze(re.sub(r"<[^>]+>", " ", changelist.text))


def test_the_agent_filters_the_structures_whose_review_is_late(
    now, agent_client, convention, gestionnaire, techniciens
):
    def structure(nom: str, started: datetime.date, reviewed_at=None) -> None:
        structure = ConventionFactory(
            organisme=convention.organisme,
            structure=StructureFactory(nom=nom),
            date_debut=started,
        ).structure
        TechnicienFactory(structure=structure)
        if reviewed_at is not None:
            HabilitationReview.objects.create(structure=structure, at=reviewed_at)

    # Reviewed 5 months ago: up to date; more than 6 months ago: late; its convention started
    # 3 months ago: not due yet. CCAS DE CREIL, under convention since 2025, never reviewed.
    structure("REVUE A JOUR", datetime.date(2024, 1, 1), paris(2026, 2, 10, 10, 0))
    structure("REVUE ANCIENNE", datetime.date(2024, 1, 1), paris(2026, 1, 9, 10, 0))
    structure("CONVENTION RECENTE", datetime.date(2026, 4, 10))
    url = reverse("admin:organismes_structurepartenaire_changelist")

    late = agent_client.get(url, {"revue": "en_retard"})

    names = {structure.nom for structure in late.context["cl"].result_list}
    assert names == {"CCAS DE CREIL", "REVUE ANCIENNE"}
    assert "revue en retard" in late.text
    up_to_date = agent_client.get(url, {"revue": "a_jour"})
    assert {s.nom for s in up_to_date.context["cl"].result_list} == {
        "REVUE A JOUR",
        "CONVENTION RECENTE",
    }
