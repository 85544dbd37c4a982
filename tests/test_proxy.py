"""SPEC §9, issue 16 item 2: the reverse proxy in front of the portal, started from the
repository's own deploy/Caddyfile, its variables changing only the ports, the upstream (the test
server instead of gunicorn), the administration endpoint and, for one case, the size limit.
Django is set as docker-compose.yml sets its web service (TRUSTED_PROXY_COUNT=1,
BEHIND_TLS_PROXY=true). Real parts: Debian's caddy, TLS from Caddy's internal authority (what
CADDY_TLS=internal gives a test bench), Django's live test server, the log-in page.

The client connects from 127.0.0.2, Caddy reaches Django from 127.0.0.1: the address django-axes
records tells which one Django took for the client's.
"""

import http.client
import os
import re
import ssl
import subprocess
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from axes.models import AccessAttempt

from tests.conftest import caddy_binary
from tests.factories import TEST_PASSWORD, ConventionFactory, GestionnaireFactory
from tests.helpers import free_port

pytestmark = [pytest.mark.proxy, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CADDYFILE = ROOT / "deploy" / "Caddyfile"
CLIENT_ADDRESS = "127.0.0.2"  # the proxy's upstream connection comes from 127.0.0.1
LOGIN_URL = "/connexion/"
WRONG_PASSWORD = "Pas-Le-Bon-Mot-De-Passe-1"


class Browser:
    """A client of the proxy over HTTPS from CLIENT_ADDRESS, keeping its cookies."""

    def __init__(self, port: int, authority: Path):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.context = ssl.create_default_context(cafile=str(authority))
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.port,
            context=self.context,
            source_address=(CLIENT_ADDRESS, 0),
            timeout=30,
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return response, content

    def log_in_body(self, identifiant: str, password: str, padding: int = 0) -> bytes:
        """The log-in form as a browser posts it, after `padding` bytes of a field of its own:
        cut anywhere in the padding, the form has neither token nor identifier."""
        _response, page = self.request("GET", LOGIN_URL)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        fields = f"&csrfmiddlewaretoken={token}&username={identifiant}&password={password}"
        return b"remplissage=" + b"x" * padding + fields.encode()

    def log_in(self, identifiant: str, password: str, forwarded: str | None = None, padding=0):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # Django checks the origin against the scheme it sees: https only if it believes
            # the proxy's X-Forwarded-Proto.
            "Origin": self.origin,
        }
        if forwarded:
            headers["X-Forwarded-For"] = forwarded
        body = self.log_in_body(identifiant, password, padding)
        return self.request("POST", LOGIN_URL, body=body, headers=headers)


@pytest.fixture
def caddy(live_server, settings, tmp_path):
    """caddy(**variables) → a Browser of deploy/Caddyfile's proxy in front of the test server."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    processes, logs = [], []

    def start(**variables: str) -> Browser:
        https_port, http_port = free_port(), free_port()
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "SITE_ADDRESS": "127.0.0.1",
            "CADDY_TLS": "internal",
            "CADDY_ADMIN": "off",
            "HTTPS_PORT": str(https_port),
            "HTTP_PORT": str(http_port),
            "UPSTREAM_HOST": "127.0.0.1",
            "UPSTREAM_PORT": str(live_server.url.rsplit(":", 1)[1]),
            **variables,
        }
        log = (tmp_path / "caddy.log").open("w")
        logs.append(log)
        process = subprocess.Popen(  # noqa: S603 (a fixed command)
            [caddy_binary(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        authority = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        deadline = time.monotonic() + 30
        while True:
            try:
                browser = Browser(https_port, authority)
                browser.request("GET", LOGIN_URL)
                browser.http_port = http_port
                return browser
            except (OSError, ssl.SSLError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("caddy did not start:\n" + (tmp_path / "caddy.log").read_text())
                time.sleep(0.1)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
    for log in logs:
        log.close()


@pytest.fixture
def gestionnaire():
    account = GestionnaireFactory(identifiant="m.pichon")
    ConventionFactory(structure=account.structure)
    return account


def test_a_spoofed_x_forwarded_for_does_not_change_the_address_axes_records(caddy, gestionnaire):
    browser = caddy()

    statuses = [
        browser.log_in("m.pichon", WRONG_PASSWORD, forwarded=f"203.0.113.{n}")[0].status
        for n in range(1, 6)
    ]

    # 200: the failures reached the log-in with their CSRF origin accepted over https.
    assert statuses == [200, 200, 200, 200, 429]
    # The address Django took is the one Caddy saw the connection come from, never a forged one
    # (Caddy trusts no client's X-Forwarded-For: it replaces it).
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_ADDRESS}
    response, content = browser.log_in("m.pichon", TEST_PASSWORD, forwarded="203.0.113.99")
    assert response.status == 429
    assert "Connexion temporairement bloquée" in content


def test_plain_http_is_redirected_to_https(caddy):
    browser = caddy()
    connection = http.client.HTTPConnection("127.0.0.1", browser.http_port, timeout=10)
    try:
        connection.request("GET", LOGIN_URL)
        response = connection.getresponse()
    finally:
        connection.close()

    assert response.status == 308
    assert response.getheader("Location").startswith("https://127.0.0.1")


def test_a_request_over_the_size_limit_never_reaches_the_portal_whole(caddy, gestionnaire):
    browser = caddy(MAX_REQUEST_BODY="1MiB")

    under, _content = browser.log_in("m.pichon", WRONG_PASSWORD, padding=900_000)
    assert under.status == 200
    assert AccessAttempt.objects.get().failures_since_start == 1

    over, content = browser.log_in("m.pichon", WRONG_PASSWORD, padding=1_100_000)
    # 413 from Caddy 2.7 on (the caddy:2 image); Debian's 2.6 answers 502 for the same refusal.
    assert over.status in (413, 502)
    assert over.getheader("Server") == "Caddy"
    assert content == ""
    # Django never saw the whole form: no second failure of the identifier.
    assert AccessAttempt.objects.get().failures_since_start == 1
