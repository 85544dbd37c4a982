"""A portal of its own for the tests of backups and upgrades: a scratch database (a SQLite file, or
a PostgreSQL database created and dropped here), its own attachments and backup folders, and
manage.py run in processes of their own against it, as an operator runs it. pytest-django's test
database is never touched: a restore replaces a whole database."""

import contextlib
import hashlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
from django.conf import settings
from django.urls import reverse

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


class Site:
    def __init__(self, folder: Path, engine: str, name: str = "site", code: Path = ROOT):
        self.folder, self.engine, self.code = folder, engine, code
        self.overrides: dict[str, str] = {}  # settings of this portal's environment
        self.media = folder / f"{name}-media"
        self.backups = folder / "backups"
        if engine == "sqlite":
            self.database = folder / f"{name}.sqlite3"
            self.url = f"sqlite:///{self.database}"
        else:
            self.database = f"ep_scratch_{name}_{os.getpid()}"
            server = settings.DATABASES["default"]
            credentials = f"{server['USER']}:{urllib.parse.quote(server['PASSWORD'], safe='')}"
            address = f"{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}"
            self.url = f"postgres://{credentials}@{address}/{self.database}"
            self.create_database()

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": self.url,
            "DEBUG": "true",
            "SECRET_KEY": "tests-backups-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            "MEDIA_ROOT": str(self.media),
            "ATTACHMENTS_STORAGE": "local",
            "BACKUP_DIR": str(self.backups),
            "UPLOADS_WITHOUT_ANTIVIRUS": "true",
            "CELERY_BROKER_URL": "memory://",
            "EMAIL_FILE_DIR": str(self.folder / "emails"),
            "STATIC_ROOT": str(self.folder / "static"),
            "LOG_LEVEL": "WARNING",
            **self.overrides,
            **extra,
        }

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", *args],
            cwd=self.code,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr}"
        return result

    def shell(self, code: str):
        """Run `code` in `manage.py shell`; what it printed last, as JSON."""
        output = self.manage("shell", "--no-imports", "-c", code).stdout
        return json.loads(output.strip().splitlines()[-1])

    # --- PostgreSQL -------------------------------------------------------------------------
    @staticmethod
    def server():
        database = settings.DATABASES["default"]
        return psycopg.connect(
            dbname="postgres",
            user=database["USER"],
            password=database["PASSWORD"],
            host=database["HOST"] or "127.0.0.1",
            port=database["PORT"] or 5432,
            autocommit=True,
        )

    def create_database(self) -> None:
        with self.server() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{self.database}"')

    def drop_database(self) -> None:
        if self.engine == "sqlite":
            self.database.unlink(missing_ok=True)
            return
        with self.server() as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # --- The portal in a browser's place ----------------------------------------------------
    @contextlib.contextmanager
    def serving(self):
        """The portal served by runserver on a free port, as a partner's browser reaches it."""
        port = free_port()
        process = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=self.code,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            browser = Browser(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + 60
            while browser.get(reverse("accounts:login"))[0] != 200:
                assert process.poll() is None, "runserver stopped"
                assert time.monotonic() < deadline, "runserver did not answer"
                time.sleep(0.2)
            yield browser
        finally:
            process.terminate()
            process.wait(timeout=20)


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, data: dict | None = None) -> tuple[int, bytes, str]:
        body = None
        if data is not None:
            token = next(c.value for c in self.cookies if c.name == settings.CSRF_COOKIE_NAME)
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.url
        except urllib.error.URLError:
            return 0, b"", path

    def get(self, path: str) -> tuple[int, bytes, str]:
        return self.request(path)

    def post(self, path: str, data: dict) -> tuple[int, bytes, str]:
        return self.request(path, data)


# What changes from one answer to the next, whatever the data: the CSP nonce, the CSRF token.
VOLATILE = re.compile(rb'(nonce|value)="[A-Za-z0-9+/=_-]{20,}"')


def partner_pages(site: Site, identifiant: str, password: str, organisme: int, demande: int,
                  piece: int) -> dict:  # fmt: skip
    """Log in as a partner, choose the organisme, open a demande and download one of its files:
    what each step answered."""
    with site.serving() as browser:
        login = reverse("accounts:login")
        browser.get(login)
        status, _, landed = browser.post(login, {"username": identifiant, "password": password})
        browser.post(reverse("accounts:organisme_selection"), {"organisme": organisme})
        detail_status, detail, _ = browser.get(reverse("demandes:detail", args=[demande]))
        piece_status, content, _ = browser.get(reverse("demandes:piece", args=[piece]))
    return {
        "logged_in": status == 200 and not landed.endswith(login),
        "detail": (detail_status, VOLATILE.sub(rb'\1=""', detail)),
        "piece": (piece_status, hashlib.sha256(content).hexdigest()),
    }
