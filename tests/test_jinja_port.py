"""Issue 20, item 2: the portal's pages, ported to Jinja2, print the HTML their Django templates
printed, on every page and in every state the tests reach.

The tests that render the portal's pages run again, in a process of their own on SQLite, under
tests/jinja_port.py: each page a test renders is rendered a second time, with the same context
and request, by the Django template of the same name at the commit before the port, and the two
are compared. This test fails on any difference (it names the page and shows the lines), on any
of those tests failing, and on a page template of jinja2/ that no test rendered.

It needs the git history (a clone, not an archive of the tree), as tests/test_upgrade.py does.
Once a page's HTML is changed on purpose after the port, the comparison has done its work: delete
this test and tests/jinja_port.py with that change.
"""

import json
import os
import subprocess
import sys

from tests.jinja_port import JINJA_DIR, ROOT

# The tests that render the portal's pages; the server-free ones (the process runs on SQLite).
PORTAL_TESTS = [
    "tests/accounts",
    "tests/audit",
    "tests/bench/test_floors.py",
    "tests/conventions",
    "tests/demandes",
    "tests/espace_partenaires",
    "tests/inscriptions",
    "tests/notifications",
    "tests/organismes",
    "tests/test_access_log.py",
    "tests/test_shell.py",
    "tests/test_smoke.py",
    "tests/test_wording_consistency.py",
]
SERVERS = "not browser and not postgresql and not redis and not clamd and not proxy and not nodes"


def page_templates() -> set[str]:
    """The templates a view renders: not a partial (`_…`) nor a layout another extends."""
    layouts = {"base.html", "aide/base.html"}
    return {
        str(path.relative_to(JINJA_DIR))
        for path in JINJA_DIR.rglob("*.html")
        if not path.name.startswith("_") and str(path.relative_to(JINJA_DIR)) not in layouts
    }


def test_every_page_prints_the_html_of_its_django_template(tmp_path):
    report = tmp_path / "comparaison.json"
    # Without the servers, on purpose: CI's run (CI=true) would otherwise demand them all.
    servers = {"CI", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "CLAMD_SOCKET", "PYTEST_ADDOPTS"}
    environment = {name: value for name, value in os.environ.items() if name not in servers}
    environment["JINJA_PORT_REPORT"] = str(report)
    command = [sys.executable, "-m", "pytest", "-p", "tests.jinja_port", "-p", "no:cacheprovider"]
    command += ["-q", "--tb=line", "--show-capture=no", "-m", SERVERS, *PORTAL_TESTS]
    run = subprocess.run(  # noqa: S603 (this interpreter's pytest, fixed arguments)
        command,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = "\n".join(
        line for line in run.stdout.splitlines() if not line.startswith(("{", "INFO", "WARNING"))
    )
    assert run.returncode == 0, summary[-6000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())

    assert not result["differences"], "\n\n".join(
        f"{difference['template']} ({difference['path']}):\n{difference['diff']}"
        for difference in result["differences"][:5]
    )
    assert page_templates() - set(result["counts"]) == set()
