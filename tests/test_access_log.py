"""Issue 16: no NIR and no secret in logs. The history's search and every link travel in
the query string, which gunicorn's default access log writes whole (a NIR typed in the search
reached the log before the form refused it). The image's own gunicorn command runs here, on a
free port, and its access log is read."""

import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import free_port
from tests.test_production_defaults import PRODUCTION

ROOT = Path(__file__).resolve().parent.parent


def image_command() -> list[str]:
    [cmd] = re.findall(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), flags=re.M)
    return json.loads(cmd)


def serve(log_format: str, *paths: str) -> tuple[list[str], str]:
    """The image's gunicorn on a free port with LOG_FORMAT=`log_format`; one request to each path
    (with a referer holding a NIR); the request ids the portal answered with, and gunicorn's whole
    output."""
    port = free_port()
    command = image_command()
    assert command[0] == "gunicorn"
    server = subprocess.Popen(  # noqa: S603 (the image's own command)
        [sys.executable, "-m", "gunicorn", *command[1:], "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            **PRODUCTION,
            "ALLOWED_HOSTS": "127.0.0.1",
            "CACHE_URL": "locmemcache://",  # no server needed: the page reads no cache
            # An empty database, whatever a `make run` left in var/: the invitation's page fails.
            "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/empty.sqlite3",
            "HTTPS": "false",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": log_format,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    request_ids = []
    try:
        # Wait for gunicorn to listen, then one request each (a retried one would log twice).
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        opener = urllib.request.build_opener(NoRedirect)
        for path in paths:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                headers={"Referer": "http://127.0.0.1/demandes/?q=185057800608491"},
            )
            try:
                response = opener.open(request, timeout=60)
            except urllib.error.HTTPError as redirect:
                response = redirect
            with response:
                # No database here: the invitation's page fails (500) after gunicorn and Django
                # know its path, which is what their lines write.
                assert response.status == (500 if path == INVITATION else 200)
                request_ids.append(response.headers["X-Request-ID"])
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return request_ids, output


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


LOGIN = "/connexion/?q=1+85+05+78+006+084+91&jeton=s3cr3t-du-lien"
INVITATION = "/invitation/s3cr3t-du-lien-d-invitation/"
SECRETS = ("q=", "006+084", "608491", "jeton", "s3cr3t")


def test_the_access_log_has_the_path_and_status_but_no_query_string_nor_referer():
    _, output = serve("text", LOGIN, INVITATION)

    [line] = [line for line in output.splitlines() if "/connexion/" in line]
    assert '"GET /connexion/ HTTP/1.1" 200' in line
    [line] = [line for line in output.splitlines() if '"GET /invitation/' in line]
    assert '"GET /invitation/…/ HTTP/1.1" 500' in line
    assert "Internal Server Error: /invitation/…/" in output
    for secret in SECRETS:
        assert secret not in output


def test_with_log_format_json_every_line_is_json_with_the_request_id():
    """Issue 21, item 4: gunicorn's own lines and its access lines, as the portal's."""
    request_ids, output = serve("json", LOGIN, INVITATION)

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert {"gunicorn.error", "gunicorn.access"} <= {line["logger"] for line in lines}
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "user_id"} <= set(line)
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert [(line["method"], line["path"], line["status"]) for line in access] == [
        ("GET", "/connexion/", 200),
        ("GET", "/invitation/…/", 500),
    ]
    assert [line["request_id"] for line in access] == request_ids
    assert all(isinstance(line["duration_ms"], float) for line in access)
    [error] = [line for line in lines if line["logger"] == "django.request"]
    assert error["message"] == "Internal Server Error: /invitation/…/"
    assert error["request_id"] == request_ids[1]
    assert "Traceback" in error["exc_info"]
    for secret in SECRETS:
        assert secret not in output
