"""Issue 21, items 1 and 2: `manage.py backup` and `manage.py restore`, round trip on a portal of
its own (tests/espace_partenaires/site.py): the demo data plus demandes with attachments are backed
up, the database and the files deleted, the archive restored, and the portal serves the same
pages. A restore refuses an archive of a newer code and a database migrated beyond the archive,
changing nothing. Both on SQLite (a bare machine) and on PostgreSQL (marker postgresql)."""

import datetime
import json
import shutil
import stat
import tarfile
import zoneinfo

import pytest
import yaml
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from espace_partenaires import backups
from espace_partenaires.management.commands.seed_demo import DEMO_PASSWORD
from tests.espace_partenaires.site import ROOT, Site, partner_pages

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]

# Three demandes of Maryse PICHON (seed_demo's technicienne) with a PDF and a PNG each; her
# conditions of use accepted, so that her log-in lands on the portal.
WITH_ATTACHMENTS = """
import datetime, json
from accounts.models import User
from accounts.services import accept_cgu
from conventions.models import Convention
from tests.helpers import PDF, image_file, make_demande, submit
maryse = User.objects.get(identifiant="m.pichon")
accept_cgu(maryse)
convention = Convention.objects.get(reference="RDC-33-2025")
for index, prenom in enumerate(["Anne", "Marc", "Lucie"]):
    form = submit((f"attestation-{index}.pdf", PDF), (f"photo-{index}.png", image_file("PNG")))
    assert form.is_valid(), form.errors
    demande = make_demande(
        maryse, convention, uploads=form.cleaned_data["pieces"], nom="LEROY", prenom=prenom,
        date_naissance=datetime.date(1960 + index, 1, 2),
    )
piece = demande.pieces.first()
print(json.dumps({
    "organisme": convention.organisme_id, "demande": demande.pk, "piece": piece.pk,
    "fichier": piece.fichier.name,
}))
"""

# The demandes and their files as the portal stores them.
CONTENT = """
import hashlib, json
from demandes.models import Demande, PieceJointe
print(json.dumps({
    "demandes": sorted(Demande.objects.values_list("reference", flat=True)),
    "pieces": {
        piece.fichier.name: hashlib.sha256(piece.fichier.read()).hexdigest()
        for piece in PieceJointe.objects.all()
    },
}))
"""


@pytest.fixture
def engine(request):
    if request.param == "postgresql":
        assert connection.vendor == "postgresql"
    return request.param


@pytest.fixture
def sites(tmp_path, engine):
    made = []

    def make(name: str = "site") -> Site:
        made.append(Site(tmp_path, engine, name))
        return made[-1]

    yield make
    for site in made:
        site.drop_database()


def seeded(site: Site) -> dict:
    site.manage("migrate", "--noinput")
    site.manage("seed_demo")
    return site.shell(WITH_ATTACHMENTS)


def only_archive(site: Site):
    archives = sorted(site.backups.glob("espace-partenaires-*.tar"))
    assert len(archives) == 1, archives
    return archives[0]


def manifest_of(archive) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_a_restored_backup_serves_the_same_pages_with_the_same_files(sites):
    site = sites()
    ids = seeded(site)
    fichier = ids.pop("fichier")
    before = site.shell(CONTENT)
    pages = partner_pages(site, "m.pichon", DEMO_PASSWORD, **ids)
    assert pages["logged_in"]
    assert pages["detail"][0] == 200
    assert pages["piece"] == (200, before["pieces"][fichier])

    backup = site.manage("backup")

    archive = only_archive(site)
    assert str(archive) in backup.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(site.backups.stat().st_mode) == 0o700
    manifest = manifest_of(archive)
    assert manifest["counts"]["demandes_demande"] == 6
    assert manifest["counts"]["demandes_piecejointe"] == 6
    assert {entry["name"]: entry["sha256"] for entry in manifest["files"]} == before["pieces"]
    assert manifest["schema"]["demandes"] == max(manifest["migrations"]["demandes"])
    text = archive.read_bytes()
    assert site.environment()["SECRET_KEY"].encode() not in text
    assert DEMO_PASSWORD.encode() not in text

    site.drop_database()
    shutil.rmtree(site.media)
    if site.engine == "postgresql":
        site.create_database()  # an empty database, as a new server's
    restore = site.manage("restore", str(archive), "--noinput")

    assert "Nombres de lignes et sommes SHA-256 conformes au manifeste." in restore.stdout
    assert "6 fichiers vérifiés" in restore.stdout
    assert site.shell(CONTENT) == before
    assert partner_pages(site, "m.pichon", DEMO_PASSWORD, **ids) == pages


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_an_archive_of_a_newer_version_is_refused_and_nothing_changes(sites):
    newer = sites("newer")
    newer.manage("migrate", "--noinput")
    newer.shell(
        "import json\nfrom django.db.migrations.recorder import MigrationRecorder\n"
        "MigrationRecorder.Migration.objects.create(app='demandes', name='9999_version_future')\n"
        "print(json.dumps(1))"
    )
    newer.manage("backup")

    refusal = restore_refused(only_archive(newer), onto=sites("target"))

    assert "l'archive vient d'une version plus récente du portail" in refusal
    assert "demandes.9999_version_future" in refusal


def restore_refused(archive, *, onto: Site) -> str:
    """Restore `archive` onto a portal with the demo data: the command's error, once checked
    that it failed and changed nothing."""
    seeded(onto)
    before = onto.shell(CONTENT)

    refused = onto.manage("restore", str(archive), "--noinput", check=False)

    assert refused.returncode != 0
    assert "Rien n'a été modifié." in refused.stderr
    assert onto.shell(CONTENT) == before
    return refused.stderr


def one_step_back() -> tuple[str, str, str]:
    """An app whose last migration has a reversible predecessor in the app: (app, previous,
    last)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for app in ("demandes", "accounts", "conventions", "organismes", "notifications"):
        (leaf,) = loader.graph.leaf_nodes(app)
        parents = [p for p in loader.graph.node_map[leaf].parents if p.key[0] == app]
        if parents and all(op.reversible for op in loader.disk_migrations[leaf].operations):
            return app, parents[0].key[1], leaf[1]
    raise AssertionError("no app with a reversible last migration")


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_restoring_onto_a_database_migrated_one_step_ahead_is_refused(sites):
    app, previous, last = one_step_back()
    older = sites("older")
    older.manage("migrate", "--noinput")
    older.manage("migrate", app, previous, "--noinput")
    older.manage("backup")

    refusal = restore_refused(only_archive(older), onto=sites("target"))

    assert "la base cible est migrée au-delà de l'archive" in refusal
    assert f"{app}.{last}" in refusal


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_backup_keeps_the_newest_archives_only(sites, tmp_path):
    site = sites()
    site.manage("migrate", "--noinput")
    site.backups.mkdir()
    for day in range(1, 5):
        (site.backups / f"espace-partenaires-202601{day:02d}-003000.tar").write_bytes(b"old")
    site.overrides["BACKUP_KEEP"] = "3"

    site.manage("backup")

    kept = sorted(path.name for path in site.backups.glob("espace-partenaires-*.tar"))
    assert len(kept) == 3
    assert kept[:2] == [
        "espace-partenaires-20260103-003000.tar",
        "espace-partenaires-20260104-003000.tar",
    ]


def test_the_nightly_backup_runs_next_at_backup_time_in_paris():
    paris = zoneinfo.ZoneInfo("Europe/Paris")

    evening = backups.next_run("00:30", datetime.datetime(2026, 3, 28, 23, 0, tzinfo=paris))
    just_after = backups.next_run("00:30", datetime.datetime(2026, 3, 29, 0, 30, tzinfo=paris))

    assert evening == datetime.datetime(2026, 3, 29, 0, 30, tzinfo=paris)
    assert just_after == datetime.datetime(2026, 3, 30, 0, 30, tzinfo=paris)
    assert just_after.utcoffset() == datetime.timedelta(hours=2)  # summer time since the 29th


def test_the_compose_file_runs_the_nightly_backup_into_its_own_volume():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["backup"]

    assert service["command"] == ["python", "manage.py", "backup", "--nightly"]
    assert service["volumes"] == ["backups:/app/var/backups"]
    assert service["environment"]["BACKUP_DIR"] == "/app/var/backups"
    assert "backups" in compose["volumes"]
    assert "postgresql-client" in (ROOT / "Dockerfile").read_text()
