"""Issue 20, item 3: the agents' list of demandes renders its rows once per page
(demandes/admin/rows.py) with exactly the HTML of Django's cell-by-cell rendering of
DemandeAdmin's columns, on every kind of row; and with the same number of queries."""

import datetime
import re
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from conventions.models import Offre
from demandes.admin import rows
from demandes.admin.changelist import DemandeAdmin
from demandes.models import DelaiCibleOffre, Demande, Evenement, Statut
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    OrganismeFactory,
    StructureFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URL = reverse("admin:demandes_demande_changelist")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=PARIS), tick=False) as t:
        yield t


@pytest.fixture
def agent():
    return AgentFactory(
        organisme=OrganismeFactory(nom="CPAM DE L'OISE"), prenom="Inès", nom_usuel="D'ARC & FILS"
    )


@pytest.fixture
def demandes(agent):
    """Every kind of row: each status, urgent with each category (and one unknown), late and
    in time (an own target delay of the offer too), assigned or not, unread messages, an
    anonymised one, names and a structure that need escaping, dates across a DST change."""
    convention = ConventionFactory(
        organisme=agent.organisme,
        structure=StructureFactory(nom='CCAS "LES <ÉTANGS>" & CO'),
        date_debut=datetime.date(2024, 1, 1),
    )
    convention.offres.set(Offre.objects.all())
    technicien = TechnicienFactory(structure=convention.structure)
    # An agent known by their nom patronymique only (User.get_full_name's other case).
    colleague = AgentFactory(
        organisme=agent.organisme, prenom="Léa", nom_usuel="", nom_patronymique="<MARTIN>"
    )
    offres = list(Offre.objects.order_by("ordre"))
    # Own target delays: offres[0] is only on urgent rows, offres[1] only on the others.
    for offre in offres[:2]:
        DelaiCibleOffre.objects.create(
            organisme=agent.organisme, offre=offre, delai_jours=40, delai_urgent_jours=1
        )
    categories = ["ij-non-payees", "invalidite", "suivi-ame", "inconnue", "asile-soins"]
    made = []
    for i in range(24):
        statut = list(Statut)[i % len(Statut)]
        created = timezone.now() - datetime.timedelta(days=3 * i, hours=i)
        closed = created + datetime.timedelta(days=2) if statut == Statut.CLOTUREE else None
        anonymised = i == 4  # clôturée
        made.append(
            Demande(
                reference=f"EP-2026-{i:06d}",
                offre=offres[i % len(offres)],
                motif=["c2s", "attestation-droits", "autre", ""][i % 4],
                structure=convention.structure,
                organisme=agent.organisme,
                convention=convention,
                auteur=technicien,
                civilite="" if anonymised else "MME",
                nom="" if anonymised else ["O'BRIEN", "DUPONT & <FILS>", "ÉLODIE", "  "][i % 4],
                prenom="" if anonymised else ["Jeanne", 'Marie "la grande"', "Zoé"][i % 3],
                date_naissance=None if anonymised else datetime.date(1980, 1, 1),
                departement="60",
                consentement=True,
                urgent=i % 3 == 0,
                categorie_urgence=categories[i % 5] if i % 3 == 0 else "",
                statut=statut,
                created_at=created,
                closed_at=closed,
                assigned_to=[None, agent, None, colleague][i % 4],
                anonymisee_le=timezone.now() if anonymised else None,
            )
        )
    Demande.objects.bulk_create(made)
    saved = list(Demande.objects.order_by("pk"))
    for demande in saved[:6]:
        for n in range(saved.index(demande) % 3):
            Evenement.objects.create(
                demande=demande, kind="message", message=f"Question {n}", auteur=technicien
            )
    return saved


def both_ways(client, **params) -> tuple[list[str], list[str]]:
    response = client.get(URL, params)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert rows.is_standard(cl)
    assert all(isinstance(row, rows.ListRow) for row in cl.result_list)
    ours = ["".join(row) for row in rows.page_results(cl)]
    assert ours and all(row in response.text for row in ours)  # the page shows ours
    # Django's rendering, cell by cell, of the same page read as demandes.
    cl.result_list = list(cl.page_queryset)
    assert cl.result_list and all(isinstance(row, Demande) for row in cl.result_list)
    django = ["".join(row) for row in results(cl)]
    return django, ours


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"statut": Statut.ENVOYEE},
        {"urgent__exact": "1", "o": "3.-6"},
        {"q": "DUPONT"},
        {"en_retard": "oui"},
        {"p": "2"},
    ],
    ids=["all", "filtered", "sorted", "search", "late", "second-page"],
)
def test_the_rows_are_djangos_character_for_character(client, agent, demandes, params):
    log_in_verified(client, agent)

    django, ours = both_ways(client, **params)

    assert ours == django


def test_the_kinds_of_rows_are_all_there(client, agent, demandes):
    log_in_verified(client, agent)
    _django, ours = both_ways(client)
    page = "".join(ours)

    for text in ("badge-urgent", "badge-retard", "badge-non-lu", "non attribuée", "anonymisées"):
        assert text in page, text
    assert "Inès D&#x27;ARC &amp; FILS" in page and "Léa &lt;MARTIN&gt;" in page
    assert "&amp; &lt;FILS&gt;" in page and "&quot;la grande&quot;" in page
    assert '<td class="field-urgence">-</td>' in page  # Django's empty value


def test_a_superuser_gets_the_same_rows(client, agent, demandes):
    log_in_verified(client, SuperuserFactory())

    django, ours = both_ways(client)

    assert ours == django


def test_another_set_of_columns_falls_back_to_django(client, agent, demandes, monkeypatch):
    monkeypatch.setattr(DemandeAdmin, "list_display", ("reference", "urgence"))
    log_in_verified(client, agent)

    response = client.get(URL)

    cl = response.context["cl"]
    assert not rows.is_standard(cl)
    assert ["".join(r) for r in rows.page_results(cl)] == ["".join(r) for r in results(cl)]


def test_a_page_has_50_rows_and_the_same_queries_as_before(client, agent, demandes):
    assert DemandeAdmin.list_per_page == 50
    # The query count is pinned at two sizes in tests/demandes/test_admin.py
    # (test_the_list_takes_the_same_number_of_queries…); the rows add none.
    log_in_verified(client, agent)
    response = client.get(URL)
    assert len(response.context["cl"].result_list) == 24


# --- The filters beside the list: Django's block, each filter written at once ---------------


def djangos_filters_block() -> str:
    """The filters block of Django's own admin/change_list.html, as it is in this Django."""
    source = (Path(admin.__file__).parent / "templates/admin/change_list.html").read_text()
    block = re.search(r"{% block filters %}(.*?){% endblock %}", source, re.S).group(1)
    return "{% load i18n admin_list %}" + block


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"statut__exact": Statut.ENVOYEE, "q": "DUPONT", "o": "3.-6"},
        {"attribution": "moi", "urgent__exact": "1", "en_retard": "oui", "p": "2"},
        {"offre__id__exact": "1", "ouverte": "oui", "attente": "partenaire", "non_lus": "oui"},
        {"_facets": "1", "statut__exact": Statut.CLOTUREE},
        {"q": '<"l\'a & b">', "statut__exact": "é"},
    ],
    ids=["none", "filtered", "mine", "others", "facets", "escaping"],
)
def test_the_filters_are_djangos_character_for_character(client, agent, demandes, params):
    log_in_verified(client, agent)
    response = client.get(URL, params)
    assert response.status_code == 200
    page = response.text

    cl = response.context["cl"]
    django = engines["django"].from_string(djangos_filters_block()).render({"cl": cl})

    assert '<search id="changelist-filter"' in django
    assert django in page
    assert rows.filters_html(cl).count("<details ") == len(cl.filter_specs)


def test_the_filters_written_at_once_are_not_django_s_template(client, agent, demandes):
    """The comparison means something: the page's filters come from demandes/admin/rows.py."""
    log_in_verified(client, agent)
    response = client.get(URL)
    cl = response.context["cl"]

    assert any(spec.template == rows.STANDARD_FILTER for spec in cl.filter_specs)
    assert "admin/filter.html" not in [t.name for t in response.templates]


def test_the_annotated_queryset_is_copied_never_changed(client, agent, demandes):
    """DemandeAdmin.annotated is built once and shared by every request (changelist.py)."""
    annotated = DemandeAdmin.annotated
    before = str(annotated.query)
    log_in_verified(client, agent)

    for params in ({"q": "DUPONT", "o": "3.-6"}, {"statut__exact": Statut.ENVOYEE}, {"p": "2"}):
        assert client.get(URL, params).status_code == 200
    assert (
        client.get(reverse("admin:demandes_demande_change", args=[demandes[0].pk])).status_code
        == 200
    )

    assert DemandeAdmin.annotated is annotated and str(annotated.query) == before
    assert annotated._result_cache is None and not annotated.query.where
