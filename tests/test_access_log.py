"""Issue 16: no NIR and no secret in logs. The history's search and every link travel in
the query string, which gunicorn's default access log writes whole (a NIR typed in the search
reached the log before the form refused it). The image's own gunicorn command runs here, on a
free port, and its access log is read."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import free_port
from tests.test_production_defaults import PRODUCTION

ROOT = Path(__file__).resolve().parent.parent


def image_command() -> list[str]:
    [cmd] = re.findall(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), flags=re.M)
    return json.loads(cmd)


def test_the_access_log_has_the_path_and_status_but_no_query_string_nor_referer():
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
            "HTTPS": "false",
            "LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/connexion/?q=1+85+05+78+006+084+91&jeton=s3cr3t-du-lien",
            headers={"Referer": "http://127.0.0.1/demandes/?q=185057800608491"},
        )
        # Wait for gunicorn to listen, then one request (a retried one would log twice).
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            assert response.status == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)

    [line] = [line for line in output.splitlines() if "/connexion/" in line]
    assert '"GET /connexion/ HTTP/1.1" 200' in line
    for secret in ("q=", "006+084", "608491", "jeton", "s3cr3t"):
        assert secret not in output
