"""A database connection the server dropped is replaced, not turned into an error page.

With persistent connections (CONN_MAX_AGE), a web process keeps its connection between requests;
when PostgreSQL restarts or its backend is terminated (a failover, an administrator), the next
request on that connection failed with a 500. CONN_HEALTH_CHECKS makes Django check it before its
first use in a request. Real parts: gunicorn (one sync worker, as in production) serving the
test database on PostgreSQL, whose backend is terminated with pg_terminate_backend between two
requests of the same client.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from tests.helpers import free_port

from .conftest import database_url

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our server)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def gunicorn():
    """gunicorn on a free port, on the test database, with the settings' defaults."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 (a fixed command)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "espace_partenaires.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base + "/")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def terminate_the_other_backends() -> int:
    """Terminate every connection to the test database but this test's own: gunicorn's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_the_defaults_keep_connections_and_check_them():
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_request_after_the_backend_was_terminated_succeeds(gunicorn):
    # The pré-inscription page reads the organismes: each request uses the database.
    url = gunicorn + reverse("inscriptions:preinscription")
    assert get(url) == 200

    assert terminate_the_other_backends() == 1  # gunicorn's worker kept its connection

    assert get(url) == 200
    assert get(url) == 200
