"""`make run` on any port (issue 19, set-up friction): `PORT=8101 make run` serves on 8101, and the
links of the e-mails follow the port unless SITE_URL is set."""

import io
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.test_production_defaults import manage

ROOT = Path(__file__).resolve().parent.parent.parent


def make_run_commands(**environment: str) -> str:
    """The command lines `make run` would run (make --dry-run: nothing is started)."""
    result = subprocess.run(
        ["make", "--dry-run", "run"],  # noqa: S607 (make from the PATH, as the README says)
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def site_url(**environment: str) -> str:
    """SITE_URL as the settings of a process with this environment read it."""
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SITE_URL)",
        DEBUG="true",
        **environment,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_make_run_serves_on_port_8000_by_default():
    commands = make_run_commands()

    assert "runserver --noreload 127.0.0.1:8000" in commands
    assert "http://127.0.0.1:8000/" in commands


def test_make_run_serves_on_the_port_given_and_says_so():
    commands = make_run_commands(PORT="8101")

    assert "runserver --noreload 127.0.0.1:8101" in commands
    assert "http://127.0.0.1:8101/" in commands
    assert "8000" not in commands


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8101"}, "http://127.0.0.1:8101"),
        # An address given wins: behind a proxy, or in production.
        (
            {"PORT": "8101", "SITE_URL": "https://partenaires.example.fr/"},
            "https://partenaires.example.fr",
        ),
    ],
)
def test_the_links_of_e_mails_follow_the_port_unless_site_url_is_set(environment, expected):
    assert site_url(**environment) == expected


@pytest.mark.django_db
def test_the_demo_tells_agents_to_open_localhost_on_the_port_served(settings):
    settings.DEBUG = True
    settings.PORT = 8101
    output = io.StringIO()

    call_command("seed_demo", stdout=output)

    assert "http://localhost:8101/" in output.getvalue()
