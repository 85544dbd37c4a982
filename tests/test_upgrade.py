"""Issue 21, item 3: an upgrade from the previous release migrates its data. The code of the
commit in .ci/previous-release (or UPGRADE_FROM) is taken from git, migrates a scratch PostgreSQL
database and writes its demo data; this code's `migrate` then applies every new migration to
it, and the last migration of each app, where it is reversible, is unapplied and applied again.
Without the git history (a tarball), the test fails and says so: it never passes untested."""

import os
import shutil
import subprocess
import tarfile

import pytest

from tests.espace_partenaires.site import ROOT, Site

RELEASE_FILE = ROOT / ".ci" / "previous-release"

BACK_AND_FORTH = """
import json
from pathlib import Path
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

loader = MigrationLoader(None, ignore_no_migrations=True)
ours = [a.label for a in apps.get_app_configs() if Path(a.path).parent == settings.BASE_DIR]
leaves = set(loader.graph.leaf_nodes())
done, irreversible, first, cascading, failed = [], [], [], [], []
for app in ours:
    for leaf in sorted(loader.graph.leaf_nodes(app)):
        name = f"{app}.{leaf[1]}"
        parents = [p.key for p in loader.graph.node_map[leaf].parents if p.key[0] == app]
        # Unapplying it unapplies what depends on it: only other apps' last migrations, or it
        # is no longer "the last migration" that goes back.
        plan = loader.graph.backwards_plan(leaf)
        if not parents:
            first.append(name)
        elif not set(plan) <= leaves:
            cascading.append(f"{name} (avec {len(set(plan) - leaves)} migrations antérieures)")
        elif not all(op.reversible for key in plan for op in loader.get_migration(*key).operations):
            irreversible.append(name)
        else:
            try:
                call_command("migrate", app, parents[0][1], verbosity=0)
                call_command("migrate", verbosity=0)
            except Exception as error:
                failed.append(f"{name}: {type(error).__name__}: {error}")
                call_command("migrate", verbosity=0)
            else:
                done.append(name)
result = {
    "done": done, "irreversible": irreversible, "first": first, "cascading": cascading,
    "failed": failed,
}
print(json.dumps(result))
"""

DATA = """
import json
from accounts.models import User
from demandes.models import Demande
print(json.dumps([User.objects.count(), Demande.objects.count()]))
"""


def previous_release() -> str:
    ref = os.environ.get("UPGRADE_FROM") or RELEASE_FILE.read_text().split()[0]
    git = shutil.which("git")
    known = git and subprocess.run(  # noqa: S603 (git, our arguments)
        [git, "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if not known or known.returncode != 0:
        pytest.fail(
            f"Pas d'historique git du commit {ref} (.ci/previous-release) : la migration depuis "
            "la version précédente ne peut pas être vérifiée (une archive sans .git ?). "
            "Lancez ce test dans un clone complet (git clone, sans --depth)."
        )
    return ref


def checkout(ref: str, folder) -> None:
    archive = folder.with_suffix(".tar")
    with archive.open("wb") as output:
        subprocess.run(  # noqa: S603 (git, our arguments)
            [shutil.which("git"), "-C", str(ROOT), "archive", "--format=tar", ref],
            stdout=output,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")


@pytest.mark.postgresql
def test_every_migration_applies_to_the_previous_release_with_its_demo_data(tmp_path):
    ref = previous_release()
    checkout(ref, tmp_path / "previous")
    site = Site(tmp_path, "postgresql", "upgrade", code=tmp_path / "previous")
    try:
        site.manage("migrate", "--noinput")
        site.manage("seed_demo")
        data = site.shell(DATA)

        site.code = ROOT
        site.manage("migrate", "--noinput")
        site.manage("migrate", "--check")
        assert site.shell(DATA) == data
        cycles = site.shell(BACK_AND_FORTH)
        site.manage("migrate", "--check")
        site.manage("seed_demo")  # this version's demo data on the upgraded database
    finally:
        site.drop_database()

    assert data[0] > 0 and data[1] > 0
    assert cycles["failed"] == [], cycles
    assert cycles["done"], cycles
    print(f"Depuis {ref[:12]} : aller-retour de {cycles}")


def test_without_the_previous_release_in_git_the_check_fails_and_says_why(monkeypatch):
    monkeypatch.setenv("UPGRADE_FROM", "0" * 40)

    with pytest.raises(pytest.fail.Exception, match="Pas d'historique git du commit 0000"):
        previous_release()
