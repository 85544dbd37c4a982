"""SPEC §9: with DEBUG=false the defaults are the safe ones (HTTPS cookies, HSTS, redirect), and
the portal refuses to start without a SECRET_KEY. Each case starts manage.py in a process of
its own, with nothing in its environment but what the case says (and a .env-less directory)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "tests-Qm7v2Kp9Lx4Rz8Nw3Hj6Bt1Fy5Dc0Gs-" * 2,
    "ALLOWED_HOSTS": "espace-partenaires.example",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_prints_nothing_with_the_four_production_variables_alone():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("key", [None, "", "change-me"])
def test_without_a_secret_key_the_portal_refuses_to_start_and_says_which_variable(key):
    environment = {name: value for name, value in PRODUCTION.items() if name != "SECRET_KEY"}
    if key is not None:
        environment["SECRET_KEY"] = key

    result = manage("check", **environment)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "clé secrète" in result.stderr


def test_a_plain_http_test_bench_relaxes_https_explicitly():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        **PRODUCTION,
        HTTPS="false",
    )

    assert result.stdout.split() == ["False", "False", "0"], result.stderr


def test_a_development_run_needs_no_key_and_no_https():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, bool(s.SECRET_KEY))",
        DEBUG="true",
    )

    assert result.stdout.split() == ["False", "True"], result.stderr


def test_persistent_checked_connections_are_the_defaults_without_any_environment():
    """Issue 20, item 4: kept 60 s and checked before each request's first use, from
    settings.py itself (not from .env.example), in production as in development."""
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    for environment in (PRODUCTION, {"DEBUG": "true"}):
        result = manage("shell", "--no-imports", "-c", code, **environment)

        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["60", "True"]


def test_the_celery_worker_does_not_keep_connections_between_tasks():
    """Celery's Django fix-up closes the worker's connections before and after every task
    unless CELERY_DB_REUSE_MAX is set: CONN_MAX_AGE does not leave a worker a stale one."""
    code = (
        "from espace_partenaires.celery import app; "
        "print('celery.fixups.django:fixup' in app.fixups, app.conf.get('CELERY_DB_REUSE_MAX'))"
    )
    result = manage("shell", "--no-imports", "-c", code, DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "None"]
