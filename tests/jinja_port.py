"""A pytest plugin for the Jinja2 port of the portal's pages (issue 20, item 2): every page a test
renders with Jinja2 is rendered again, with the same context and request, by the Django template
of the same name as it was before the port (commit BEFORE, read from git), and the two HTML are
compared. tests/test_jinja_port.py runs the portal's tests under it (`-p tests.jinja_port`).

What may differ, and only that: the CSRF token (masked anew at each call), runs of whitespace
(a Jinja2 `{% set %}` or `{% with %}` leaves other blank lines than Django's tags), and the
cosmetic `'` / `&#x27;` escaping of an apostrophe, which both spell the same character.

The report (JINJA_PORT_REPORT, JSON) lists each template compared, how often, and every
difference with the two HTML, so that the test says which page differs and where.
"""

import difflib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template.backends import jinja2 as jinja2_backend
from django.template.backends.django import DjangoTemplates

ROOT = Path(__file__).resolve().parent.parent
# The last commit whose portal pages were Django templates.
BEFORE = "0ffb4c435870e4c3fd20790b11ee2885cd681734"
JINJA_DIR = ROOT / "jinja2"

_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")|("csrfmiddlewaretoken", ")[^"]+')
_SPACE = re.compile(r"\s+")


def normalise(html: str) -> str:
    html = _CSRF.sub(r"\1…\2", html).replace("&#x27;", "'").replace("&#39;", "'")
    return _SPACE.sub(" ", html).strip()


def templates_before(into: Path) -> Path:
    """The templates/ folder of commit BEFORE, extracted into `into`."""
    git = shutil.which("git") or "git"
    archive = subprocess.run(  # noqa: S603 (a fixed command)
        [git, "-C", str(ROOT), "archive", "--format=tar", BEFORE, "templates"],
        capture_output=True,
        check=False,
    )
    if archive.returncode:
        raise RuntimeError(
            f"git archive {BEFORE} a échoué ({archive.stderr.decode().strip()}) : la comparaison "
            "demande l'historique git (un clone, pas une archive)."
        )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "templates"


class Comparison:
    def __init__(self, report: Path):
        self.report = report
        self.folder = tempfile.TemporaryDirectory(prefix="jinja-port-")
        [django_engine] = [
            engine
            for engine in settings.TEMPLATES
            if engine["BACKEND"] == "django.template.backends.django.DjangoTemplates"
        ]
        self.before = DjangoTemplates(
            {
                "NAME": "before",
                "DIRS": [templates_before(Path(self.folder.name))],
                "APP_DIRS": True,
                # The Django engine's, as the pages had them.
                "OPTIONS": {"context_processors": django_engine["OPTIONS"]["context_processors"]},
            }
        )
        self.counts: dict[str, int] = {}
        self.differences: list[dict] = []
        self.original_render = jinja2_backend.Template.render

    def install(self):
        comparison = self

        def render(template, context=None, request=None):
            given = dict(context or {})
            html = comparison.original_render(template, context, request)
            if Path(template.origin.name).is_relative_to(JINJA_DIR):
                comparison.compare(template.origin.template_name, given, request, html)
            return html

        jinja2_backend.Template.render = render

    def uninstall(self):
        jinja2_backend.Template.render = self.original_render
        self.folder.cleanup()

    def compare(self, name, context, request, after):
        # The Django template's queries (a count the Jinja2 one made already) are not the
        # page's: a query-count test of the page counts the page's own.
        logs = [(c, len(c.queries_log)) for c in connections.all(initialized_only=True)]
        try:
            before = self.before.get_template(name).render(context, request)
        finally:
            for connection, length in logs:
                while len(connection.queries_log) > length:
                    connection.queries_log.pop()
        self.counts[name] = self.counts.get(name, 0) + 1
        if normalise(before) != normalise(after):
            self.differences.append(
                {
                    "template": name,
                    "path": getattr(request, "path", None),
                    "diff": "\n".join(
                        difflib.unified_diff(
                            _lines(before), _lines(after), "Django", "Jinja2", lineterm="", n=1
                        )
                    )[:4000],
                }
            )

    def write(self):
        self.report.write_text(
            json.dumps({"counts": self.counts, "differences": self.differences}, indent=1)
        )


def _lines(html: str) -> list[str]:
    return normalise(html).replace("> <", ">\n<").splitlines()


_comparison: Comparison | None = None


def pytest_configure(config):
    global _comparison
    _comparison = Comparison(Path(os.environ["JINJA_PORT_REPORT"]))
    _comparison.install()


def pytest_unconfigure(config):
    if _comparison is not None:
        _comparison.write()
        _comparison.uninstall()
