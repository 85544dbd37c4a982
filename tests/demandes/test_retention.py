"""Retention of demandes (SPEC §10, issue 17 item 1): a closed demande is anonymised once its
organisme's retention delay has passed since its closure. The insured person's identity, the free
texts and the attachments (the files on storage too) go; what the indicators need stays, so that
they give the same figures before and after. Never-closed demandes are left alone.

The job runs in batches, twice or concurrently without doing the work twice, with a dry run; the
demande's pages say "Données anonymisées le …", and the indicators page how many closed demandes
are past their delay and not anonymised yet (the job has not run).
"""

import datetime
import shutil
import zoneinfo
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.formats import date_format

from conventions.models import Offre
from demandes import indicators, services
from demandes.attachments import AttachmentsField
from demandes.jobs import anonymise_closed_demandes
from demandes.models import Demande, Evenement, PieceJointe
from organismes.models import Organisme
from tests.browser.scenario import create_offres
from tests.factories import (
    AgentFactory,
    ConventionFactory,
    OrganismeFactory,
    SuperuserFactory,
    TechnicienFactory,
)
from tests.helpers import PDF, all_succeed, image_file, log_in_verified, make_demande

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


# The night the job runs: 10 May 2026. With 24 months, closed before 10 May 2024 goes; with 12
# months, closed before 10 May 2025.
NIGHT = paris(2026, 5, 10, 2, 15)

# What the anonymisation erases: these texts are left blank, the date of birth empty.
ERASED_TEXTS = ("civilite", "nom", "prenom", "commentaire", "reponse")
# What stays: the indicators' columns, the links, the dates.
KEPT = (
    "pk",
    "reference",
    "offre_id",
    "motif",
    "structure_id",
    "organisme_id",
    "convention_id",
    "auteur_id",
    "departement",
    "consentement",
    "urgent",
    "categorie_urgence",
    "statut",
    "created_at",
    "closed_at",
)
EVENEMENT_KEPT = ("pk", "demande_id", "kind", "statut", "de_l_organisme", "auteur_id", "at")


def uploads(*files: tuple[str, bytes]) -> list:
    """Files as the forms hand them to the services: checked, with their type and name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return AttachmentsField().clean([SimpleUploadedFile(name, content) for name, content in files])


def stored_files(attachments_dir: Path) -> set[str]:
    return {
        str(path.relative_to(attachments_dir))
        for path in attachments_dir.rglob("*")
        if path.is_file()
    }


def convention_of(organisme: Organisme, **fields):
    convention = ConventionFactory(
        organisme=organisme, date_debut=datetime.date(2023, 1, 1), **fields
    )
    convention.offres.set(Offre.objects.all())
    return convention


def full_history(technicien, agent, convention, *, sent, closed, **data) -> Demande:
    """A demande with everything a demande holds: a comment and a file of the partner, a
    complement asked and given with a photo, an answer (with a document when habilitée)."""
    fields = {"commentaire": "Disponible le matin, au 03 44 00 00 00.", **data}
    with time_machine.travel(sent, tick=False):
        demande = make_demande(
            technicien, convention, uploads=uploads(("Avis MARTIN.pdf", PDF)), **fields
        )
    with time_machine.travel(sent + datetime.timedelta(days=1), tick=False):
        services.prendre_en_charge(by=agent, demande=demande)
        services.demander_complement(
            by=agent, demande=demande, message="Merci de joindre l'avis d'imposition de Mme MARTIN."
        )
    with time_machine.travel(sent + datetime.timedelta(days=2), tick=False):
        services.fournir_complement(
            by=technicien,
            demande=demande,
            message="Voici l'avis de Mme MARTIN.",
            uploads=uploads(("photo.png", image_file("PNG"))),
        )
    with time_machine.travel(closed, tick=False):
        documents = uploads(("Attestation.pdf", PDF)) if convention.habilitee else []
        services.cloturer(
            by=agent,
            demande=demande,
            reponse="Droits ouverts pour Mme MARTIN jusqu'au 31/12.",
            uploads=documents,
        )
    return Demande.objects.get(pk=demande.pk)


@pytest.fixture
def world(attachments_dir):
    """Two organismes, 24 months (the default) and 12 months; in each, demandes closed before
    and after their delay, never-closed ones, urgent ones."""
    oise = OrganismeFactory(nom="CPAM DE L'OISE")
    gironde = OrganismeFactory(nom="CPAM DE LA GIRONDE", delai_conservation_demandes_mois=12)
    agent, agent_g = AgentFactory(organisme=oise), AgentFactory(organisme=gironde)
    convention = convention_of(oise, habilitee=True)
    convention_g = convention_of(gironde)
    technicien = TechnicienFactory(structure=convention.structure)
    technicien_g = TechnicienFactory(structure=convention_g.structure)
    urgent = {"urgent": True, "categorie_urgence": "suivi-ame"}

    def in_oise(sent, closed, **data):
        return full_history(technicien, agent, convention, sent=sent, closed=closed, **data)

    def in_gironde(sent, closed, **data):
        return full_history(technicien_g, agent_g, convention_g, sent=sent, closed=closed, **data)

    due = [
        in_oise(paris(2024, 3, 4, 9), paris(2024, 3, 20, 16)),
        # Closed 24 months, 2 hours and 45 minutes before the night.
        in_oise(paris(2024, 4, 2, 9), paris(2024, 5, 9, 23, 30), offre="document", **urgent),
        # 13 months: past Gironde's 12.
        in_gironde(paris(2025, 3, 3, 9), paris(2025, 4, 2, 10), **urgent),
    ]
    kept = [
        in_oise(paris(2024, 5, 2, 9), paris(2024, 5, 10, 9)),
        in_gironde(paris(2025, 5, 5, 9), paris(2025, 6, 1, 9)),
    ]
    # Never closed, for years: left alone.
    with time_machine.travel(paris(2023, 7, 3, 9), tick=False):
        never_closed = [
            make_demande(
                technicien,
                convention,
                commentaire="Toujours en attente.",
                uploads=uploads(("Courrier.pdf", PDF)),
            ),
            make_demande(technicien_g, convention_g, **urgent),
        ]
        services.demander_complement(
            by=agent, demande=never_closed[0], message="Il manque le courrier de Mme MARTIN."
        )
    return {
        "due": due,
        "kept": kept,
        "never_closed": never_closed,
        "conventions": (convention, convention_g),
        "agent": agent,
        "technicien": technicien,
        "attachments_dir": attachments_dir,
    }


def state(demandes) -> dict:
    """Everything of these demandes: their row, timeline, attachments and files' names."""
    pks = [getattr(demande, "pk", demande) for demande in demandes]
    return {
        "demandes": list(Demande.objects.filter(pk__in=pks).order_by("pk").values()),
        "evenements": list(Evenement.objects.filter(demande__in=pks).order_by("pk").values()),
        "pieces": list(PieceJointe.objects.filter(demande__in=pks).order_by("pk").values()),
    }


def files_of(demandes) -> set[str]:
    return set(PieceJointe.objects.filter(demande__in=demandes).values_list("fichier", flat=True))


def run(**options):
    with time_machine.travel(NIGHT, tick=False):
        return anonymise_closed_demandes(**options)


# --- What goes, what stays -------------------------------------------------------------------


def test_the_identity_the_free_texts_and_every_attachment_go(world):
    due = [demande.pk for demande in world["due"]]
    before = {row["pk"]: row for row in Demande.objects.filter(pk__in=due).values(*KEPT)}
    timeline = list(
        Evenement.objects.filter(demande__in=due).order_by("pk").values(*EVENEMENT_KEPT)
    )
    files = files_of(due)
    assert len(files) == 8  # the partner's two, the complement's two, the fund's answer's one
    assert Evenement.objects.filter(demande__in=due).exclude(message="").count() == 9
    assert files <= stored_files(world["attachments_dir"])

    report = run()

    assert (report.demandes_anonymised, report.files_deleted, report.files_failed) == (3, 8, 0)
    for demande in Demande.objects.filter(pk__in=due):
        assert [getattr(demande, field) for field in ERASED_TEXTS] == [""] * len(ERASED_TEXTS)
        assert demande.date_naissance is None
        assert demande.anonymisee_le == NIGHT
        demande.full_clean()  # the model's validation and the admin still take it
    assert {row["pk"]: row for row in Demande.objects.filter(pk__in=due).values(*KEPT)} == before
    assert (
        list(Evenement.objects.filter(demande__in=due).order_by("pk").values(*EVENEMENT_KEPT))
        == timeline
    )
    assert not Evenement.objects.filter(demande__in=due).exclude(message="").exists()
    assert not PieceJointe.objects.filter(demande__in=due).exists()
    assert not files & stored_files(world["attachments_dir"])


def test_demandes_within_their_delay_and_never_closed_ones_are_left_alone(world):
    untouched = [demande.pk for demande in (*world["kept"], *world["never_closed"])]
    before = state(untouched)
    files = files_of(untouched)
    assert len(files) == 6

    run()

    assert state(untouched) == before
    assert files <= stored_files(world["attachments_dir"])
    assert not Demande.objects.filter(pk__in=untouched, anonymisee_le__isnull=False).exists()


def test_the_indicators_give_the_same_figures_before_and_after(world):
    def figures():
        results = []
        for convention in world["conventions"]:
            for du, au in (
                (datetime.date(2023, 6, 1), datetime.date(2026, 5, 9)),
                (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
                (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)),
            ):
                resultat = indicators.compute(convention, du, au)
                results.append((resultat, indicators.to_csv(resultat)))
        return results

    before = figures()
    assert (before[0][0].total, before[0][0].cloturees, before[0][0].total_urgentes) == (4, 3, 1)
    assert (before[3][0].total, before[3][0].cloturees, before[3][0].total_urgentes) == (3, 2, 2)

    assert run().demandes_anonymised == 3

    assert figures() == before


def test_each_organismes_delay_counts_from_the_closure(world):
    oise_due, oise_late, gironde_due = world["due"]
    # At 23:29 the second one of the Oise is one minute short of its 24 months; at 23:31, past.
    with time_machine.travel(paris(2026, 5, 9, 23, 29), tick=False):
        assert anonymise_closed_demandes().demandes_anonymised == 2
    anonymised = set(
        Demande.objects.filter(anonymisee_le__isnull=False).values_list("pk", flat=True)
    )
    assert anonymised == {oise_due.pk, gironde_due.pk}

    with time_machine.travel(paris(2026, 5, 9, 23, 31), tick=False):
        assert anonymise_closed_demandes().demandes_anonymised == 1
    assert Demande.objects.get(pk=oise_late.pk).anonymisee_le == paris(2026, 5, 9, 23, 31)

    # Shortening the Oise's delay to 23 months takes its demande closed on 10 May 2024 too.
    Organisme.objects.filter(pk=oise_due.organisme_id).update(delai_conservation_demandes_mois=23)
    assert run().demandes_anonymised == 1
    assert Demande.objects.get(pk=world["kept"][0].pk).anonymisee_le == NIGHT
    assert Demande.objects.get(pk=world["kept"][1].pk).anonymisee_le is None


def test_a_second_run_does_nothing(world):
    run()
    after_once = state(Demande.objects.all())
    files = stored_files(world["attachments_dir"])

    second = run()

    assert (second.demandes_anonymised, second.files_deleted, second.files_failed) == (0, 0, 0)
    assert state(Demande.objects.all()) == after_once
    assert stored_files(world["attachments_dir"]) == files


def test_the_dry_run_shows_what_the_job_would_do_and_changes_nothing(world):
    before = state(Demande.objects.all())
    files = stored_files(world["attachments_dir"])
    out = StringIO()

    with time_machine.travel(NIGHT, tick=False):
        call_command("anonymise_closed_demandes", "--dry-run", stdout=out)

    assert "Simulation (--dry-run) : rien n'a été modifié ni envoyé." in out.getvalue()
    assert "demandes_anonymised : 3" in out.getvalue()
    assert "files_deleted : 8" in out.getvalue()
    assert state(Demande.objects.all()) == before
    assert stored_files(world["attachments_dir"]) == files


def test_the_command_does_the_job(world):
    out = StringIO()

    with time_machine.travel(NIGHT, tick=False):
        call_command("anonymise_closed_demandes", stdout=out)

    assert "Simulation" not in out.getvalue()
    assert "demandes_anonymised : 3" in out.getvalue()
    assert Demande.objects.filter(anonymisee_le__isnull=False).count() == 3


def test_a_file_that_cannot_be_deleted_is_deleted_by_the_next_run(world):
    """The demande is anonymised in one transaction (its texts, its identity and its files'
    names); the files go after the commit. One that cannot go keeps its row, out of reach (no
    page shows it, the download is a 404), and the next run deletes it."""
    attachments_dir = world["attachments_dir"]
    demande = world["due"][0]
    piece = PieceJointe.objects.filter(demande=demande).order_by("pk").first()
    stuck = attachments_dir / piece.fichier.name
    # A real failure of the storage: a folder in the file's place, which os.rmdir refuses.
    stuck.unlink()
    stuck.mkdir()
    (stuck / "dedans").write_bytes(b"x")

    report = run()

    assert (report.demandes_anonymised, report.files_deleted, report.files_failed) == (3, 7, 1)
    demande.refresh_from_db()
    assert demande.anonymisee_le == NIGHT and demande.nom == "" and demande.commentaire == ""
    assert list(PieceJointe.objects.filter(demande=demande).values_list("pk", "nom")) == [
        (piece.pk, "")
    ]
    client = Client()
    log_in_verified(client, world["technicien"])
    client.get(reverse("accounts:organisme_selection"))
    assert client.get(reverse("demandes:piece", args=[piece.pk])).status_code == 404

    shutil.rmtree(stuck)
    stuck.write_bytes(PDF)  # the storage works again; the file is still there
    again = run()

    assert (again.demandes_anonymised, again.files_deleted, again.files_failed) == (0, 1, 0)
    assert not PieceJointe.objects.filter(demande=demande).exists()
    assert not stuck.exists()


def test_an_anonymised_demande_takes_no_more_documents(world):
    run()
    demande = world["due"][0]

    with pytest.raises(services.DemandeRuleError, match="anonymisée"):
        services.joindre_documents(
            by=world["agent"], demande=demande, uploads=uploads(("Courrier.pdf", PDF))
        )
    assert not PieceJointe.objects.filter(demande=demande).exists()


def test_the_database_refuses_a_demande_without_identity_unless_anonymised(world):
    demande = world["kept"][0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Demande.objects.filter(pk=demande.pk).update(nom="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Demande.objects.filter(pk=world["never_closed"][0].pk).update(anonymisee_le=NIGHT)
    demande.nom = ""
    with pytest.raises(ValidationError):
        demande.full_clean()


# --- Batches, bounded queries, concurrent runs ----------------------------------------------


def closed_demandes(technicien, agent, convention, count: int) -> None:
    for _ in range(count):
        with time_machine.travel(paris(2024, 1, 8, 9), tick=False):
            demande = make_demande(
                technicien, convention, commentaire="Rappeler.", uploads=uploads(("a.pdf", PDF))
            )
            services.cloturer(by=agent, demande=demande, reponse="Fait.")


def queries(**options) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        report = run(**options)
    return len(context.captured_queries), report


def test_the_job_makes_as_many_queries_for_30_demandes_as_for_3(attachments_dir):
    agent = AgentFactory()
    convention = convention_of(agent.organisme)
    technicien = TechnicienFactory(structure=convention.structure)
    closed_demandes(technicien, agent, convention, 3)
    few, report_few = queries()
    closed_demandes(technicien, agent, convention, 30)
    many, report_many = queries()

    assert (report_few.demandes_anonymised, report_many.demandes_anonymised) == (3, 30)
    assert (report_few.files_deleted, report_many.files_deleted) == (3, 30)
    assert few == many


def test_the_job_works_in_batches(attachments_dir):
    agent = AgentFactory()
    convention = convention_of(agent.organisme)
    technicien = TechnicienFactory(structure=convention.structure)
    closed_demandes(technicien, agent, convention, 7)

    report = run(batch_size=3)

    assert (report.demandes_anonymised, report.files_deleted) == (7, 7)
    assert not Demande.objects.filter(anonymisee_le__isnull=True).exists()
    assert not PieceJointe.objects.exists()
    assert stored_files(attachments_dir) == set()


@pytest.mark.django_db(transaction=True)
def test_runs_at_once_anonymise_each_demande_once(attachments_dir):
    create_offres()  # the flush of an earlier transactional test removed them
    agent = AgentFactory()
    convention = convention_of(agent.organisme)
    technicien = TechnicienFactory(structure=convention.structure)
    closed_demandes(technicien, agent, convention, 12)

    with time_machine.travel(NIGHT, tick=False):
        reports = all_succeed(*[lambda: anonymise_closed_demandes(batch_size=2)] * 4)

    assert sum(report.demandes_anonymised for report in reports) == 12
    assert sum(report.files_failed for report in reports) == 0
    assert not Demande.objects.filter(anonymisee_le__isnull=True).exists()
    assert set(Demande.objects.values_list("anonymisee_le", flat=True)) == {NIGHT}
    assert not PieceJointe.objects.exists()
    assert stored_files(attachments_dir) == set()


# --- What the pages show --------------------------------------------------------------------


def text_of(response) -> str:
    import html
    import re

    assert response.status_code == 200
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_partners_page_says_the_data_are_anonymised(world):
    run()
    demande = world["due"][0]
    client = Client()
    log_in_verified(client, world["technicien"])
    client.get(reverse("accounts:organisme_selection"))

    text = text_of(client.get(reverse("demandes:detail", args=[demande.pk])))

    assert f"Données anonymisées le {date_format(NIGHT, 'j F Y')}" in text
    assert demande.reference in text and "Clôturée" in text
    assert "Demander un rendez-vous pour un assuré" in text and "60 — Oise" in text
    for erased in ("MARTIN", "Jeanne", "02/03/1975", "Disponible le matin", "Droits ouverts"):
        assert erased not in text
    assert ".pdf" not in text and ".png" not in text

    listed = text_of(client.get(reverse("demandes:list")))
    assert "Données anonymisées" in listed


def test_the_partners_page_of_a_kept_demande_is_unchanged(world):
    run()
    client = Client()
    log_in_verified(client, world["technicien"])
    client.get(reverse("accounts:organisme_selection"))

    text = text_of(client.get(reverse("demandes:detail", args=[world["kept"][0].pk])))

    assert "Données anonymisées" not in text
    assert "MARTIN Jeanne" in text and "Droits ouverts pour Mme MARTIN" in text


def test_the_agents_change_page_says_the_data_are_anonymised(world, client):
    run()
    demande = world["due"][0]
    log_in_verified(client, world["agent"])

    response = client.get(reverse("admin:demandes_demande_change", args=[demande.pk]))
    text = text_of(response)

    assert f"Données anonymisées le {date_format(NIGHT, 'j F Y')}" in text
    assert demande.reference in text and "60 — Oise" in text
    for erased in ("MARTIN", "Jeanne", "02/03/1975", "Disponible le matin", "Droits ouverts"):
        assert erased not in text
    assert "/demandes/pieces/" not in response.content.decode()
    listed = text_of(client.get(reverse("admin:demandes_demande_changelist")))
    assert "Données anonymisées" in listed


def test_the_indicators_page_counts_the_demandes_past_their_delay(world, client):
    agent = world["agent"]
    log_in_verified(client, agent)
    page = reverse("admin:demandes_demande_indicateurs")

    with time_machine.travel(NIGHT, tick=False):
        response = client.get(page)
    text = text_of(response)

    # The Oise's two, not Gironde's: another organisme's demandes are not the agent's.
    assert response.context["a_anonymiser"] == 2
    assert (
        "2 demandes clôturées ont dépassé le délai de conservation et ne sont pas encore "
        "anonymisées" in text
    )

    run()
    with time_machine.travel(NIGHT, tick=False):
        response = client.get(page, {"convention": world["conventions"][0].pk})

    assert response.context["a_anonymiser"] == 0
    assert "Aucune demande clôturée n'attend son anonymisation." in text_of(response)


def test_a_superuser_sees_every_organismes_count(world, client):
    log_in_verified(client, SuperuserFactory())

    with time_machine.travel(NIGHT, tick=False):
        response = client.get(reverse("admin:demandes_demande_indicateurs"))

    assert response.context["a_anonymiser"] == 3
    assert "3 demandes clôturées ont dépassé le délai de conservation" in text_of(response)


# --- The organisme's delay ------------------------------------------------------------------


def test_the_retention_delay_is_24_months_by_default_within_a_range():
    organisme = OrganismeFactory()
    assert organisme.delai_conservation_demandes_mois == 24
    field = Organisme._meta.get_field("delai_conservation_demandes_mois")
    assert str(field.verbose_name) == "délai de conservation des demandes (mois)"
    assert "après leur clôture" in str(field.help_text)

    organisme.delai_conservation_demandes_mois = 0
    with pytest.raises(ValidationError) as refused:
        organisme.full_clean()
    assert "delai_conservation_demandes_mois" in refused.value.message_dict
    organisme.delai_conservation_demandes_mois = 121
    with pytest.raises(ValidationError):
        organisme.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisme.objects.filter(pk=organisme.pk).update(delai_conservation_demandes_mois=0)


def test_the_organismes_admin_shows_the_delay_next_to_the_purge_delay(client):
    organisme = OrganismeFactory(delai_conservation_demandes_mois=36)
    log_in_verified(client, SuperuserFactory())

    response = client.get(reverse("admin:organismes_organisme_change", args=[organisme.pk]))

    fields = list(response.context["adminform"].form.fields)
    purge = fields.index("delai_purge_mois")
    assert fields[purge + 1] == "delai_conservation_demandes_mois"
    assert response.context["adminform"].form["delai_conservation_demandes_mois"].value() == 36
    listed = client.get(reverse("admin:organismes_organisme_changelist"))
    assert "délai de conservation des demandes (mois)" in text_of(listed).lower()
