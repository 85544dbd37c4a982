import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket
from django.conf import settings
from django.template.backends import jinja2 as jinja2_backend
from django.test.signals import template_rendered
from kombu import pools as kombu_pools

from espace_partenaires.celery import app as celery_app
from tests.browser import CHROMIUM, chromium_present
from tests.helpers import free_port


def pytest_configure(config):
    # Static files without the collectstatic manifest; e-mail tasks run in the test's thread.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Tests run tasks eagerly, except the real-worker tests, on an in-memory broker and, marked
    # `redis`, on a real Redis (never the folder `make run` uses).
    celery_app.conf.broker_url = "memory://"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    # Hashing at full strength would make the suite minutes long; the real hasher is Django's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # An undefined variable in a page fails the test (STYLE.md), before the engines are built.
    settings.TEMPLATES_STRICT = True
    # Django's test client lists the templates a response rendered (response.templates) from
    # the signal its test set-up makes Django templates send: the pages' Jinja2 send it too.
    jinja2_backend.Template.render = _signalling(jinja2_backend.Template.render)


def _signalling(render):
    def signalling_render(template, context=None, request=None):
        # Before rendering, as Django's own signal (a page is listed before the form widgets it
        # renders), with the names the context processors add, as in response.context there.
        seen = dict(context or {})
        if request is not None:
            seen["request"] = request
            for processor in template.backend.template_context_processors:
                seen.update(processor(request))
        template_rendered.send(sender=template, template=template.template, context=seen)
        return render(template, context, request)

    return signalling_render


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path):
    """Attachments of every test go to the test's own folder, never to var/."""
    location = tmp_path / "pieces-jointes"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }
    return location


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def broker(request):
    """The broker of a real-worker test: kombu's in-memory transport, then a real Redis."""
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_server")
    use_broker(url)
    yield url
    use_broker("memory://")


def use_broker(url: str) -> None:
    """Point the app at `url`, dropping the connections and producers of the previous broker
    (as Celery does after a fork; app.close() would also unregister the app's tasks)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    kombu_pools.reset()  # kombu's producer pools, shared by connection, would stay closed
    celery_app._after_fork()
    celery_app.conf.broker_url = url


@pytest.fixture
def real_worker(broker):
    """A Celery worker in a thread, on the test's broker (in-memory, then a real Redis)."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # no message left by an earlier test on the in-memory broker
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the callbacks registered with transaction.on_commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def pytest_report_header(config):
    from django.db import connection

    database = f"database: {connection.vendor}"
    if not postgresql_present():
        database += f" ; {POSTGRESQL_ABSENT}"
    return [
        database,
        redis_header(),
        clamd_header(),
        browser_header(),
        proxy_header(),
        nodes_header(),
    ]


# --- PostgreSQL: tests marked `postgresql` need the real server (DATABASE_URL, as in CI) --------
POSTGRESQL_ABSENT = (
    "pas de PostgreSQL : les tests marqués postgresql ne tournent pas (DATABASE_URL=postgres://…, "
    "comme le fait .ci/run)"
)


def postgresql_present() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


# --- ClamAV: tests marked `clamd` scan with a real clamd ----------------------------------------
# CI starts one (.ci/run) and exports CLAMD_SOCKET; elsewhere, when a `clamd` binary is installed,
# the session starts a private one on the EICAR-only database of tests/clamd/. Without either,
# those tests are deselected and the header says so: they are never skipped silently.
CLAMD_FILES = Path(__file__).parent / "clamd"
# --- Chromium: tests marked `browser` (tests/browser/) drive Debian's Chromium with Playwright;
# CI installs it (.ci/run). Without it they are deselected and the header says so.
CHROMIUM_ABSENT = (
    f"Chromium absent ({CHROMIUM}) : les tests navigateur ne tournent pas "
    "(apt-get install chromium, comme le fait .ci/run)"
)
CLAMD_ABSENT = "clamd absent : les tests antivirus (EICAR) ne tournent qu'avec ClamAV (CI)"


def system_binary(name: str, *folders: str) -> str | None:
    """`name` on the PATH or in `folders` (the sbin folders are often off a user's PATH)."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *folders]))


def clamd_binary() -> str | None:
    return system_binary("clamd", "/usr/sbin", "/usr/local/sbin")


def clamd_source() -> str | None:
    """Where the clamd of the `clamd` tests comes from, or None when none can be had."""
    if os.environ.get("CLAMD_SOCKET"):
        return f"CLAMD_SOCKET={os.environ['CLAMD_SOCKET']}"
    if os.environ.get("CLAMD_HOST"):
        return f"CLAMD_HOST={os.environ['CLAMD_HOST']}:{os.environ.get('CLAMD_PORT', '3310')}"
    binary = clamd_binary()
    return f"{binary}, private, EICAR-only database" if binary else None


def pytest_collection_modifyitems(config, items):
    absent = set()
    if not postgresql_present():
        absent.add("postgresql")
    if redis_source() is None:
        absent.add("redis")
    if clamd_source() is None:
        absent.add("clamd")
    if not chromium_present():
        absent.add("browser")
    if caddy_binary() is None:
        absent.add("proxy")
    if nodes_missing():
        absent.add("nodes")
    if absent and os.environ.get("CI") == "true":
        # CI starts every server (.ci/run): a missing one is a broken CI, never a smaller suite.
        raise pytest.UsageError(f"CI=true, but these test groups lack their server: {absent}")
    deselected = [item for item in items if absent & {mark.name for mark in item.iter_markers()}]
    if deselected:
        items[:] = [item for item in items if item not in deselected]
        config.hook.pytest_deselected(items=deselected)


# --- Caddy: tests marked `proxy` start deploy/Caddyfile in front of the test server; CI installs
# Debian's caddy (.ci/run). Without it they are deselected and the header says so.
CADDY_ABSENT = (
    "caddy absent : les tests du reverse proxy (deploy/Caddyfile) ne tournent pas "
    "(apt-get install caddy, comme le fait .ci/run)"
)


def caddy_binary() -> str | None:
    return system_binary("caddy", "/usr/bin", "/usr/local/bin")


# --- Several web nodes: tests marked `nodes` (tests/test_nodes.py) start two gunicorn instances
# on PostgreSQL, a private redis-server and moto's S3 server (moto_server, a dev dependency, so
# always there with the virtualenv). CI has them all (.ci/run); without one of them the tests are
# deselected and the header says which is missing.
def moto_server_binary() -> str | None:
    binary = Path(sys.executable).parent / "moto_server"
    return str(binary) if binary.exists() else shutil.which("moto_server")


def nodes_missing() -> list[str]:
    missing = []
    if not postgresql_present():
        missing.append("PostgreSQL (DATABASE_URL=postgres://…)")
    if redis_binary() is None:
        missing.append("redis-server (apt-get install redis-server)")
    if moto_server_binary() is None:
        missing.append("moto_server (pip install -e '.[dev]')")
    return missing


def nodes_header() -> str:
    missing = nodes_missing()
    if missing:
        return "pas de " + ", ".join(missing) + " : les tests à deux nœuds web ne tournent pas"
    return "nodes tests: two gunicorn nodes, PostgreSQL, a private redis-server, moto_server"


def proxy_header() -> str:
    binary = caddy_binary()
    return f"proxy tests: Caddy {binary}" if binary else CADDY_ABSENT


def browser_header() -> str:
    if chromium_present():
        return f"browser tests: Chromium {CHROMIUM}"
    return CHROMIUM_ABSENT


# --- Redis: tests marked `redis` use a real Redis server --------------------------------------
# CI starts one (.ci/run) and exports REDIS_URL; elsewhere, when a `redis-server` binary is
# installed, the session starts a private one on a free port. Without either, those tests are
# deselected and the header says so.
REDIS_ABSENT = (
    "redis-server absent : les tests sur un vrai Redis ne tournent pas "
    "(apt-get install redis-server, comme le fait .ci/run, ou REDIS_URL)"
)


def redis_binary() -> str | None:
    return system_binary("redis-server", "/usr/bin", "/usr/sbin")


def redis_source() -> str | None:
    if os.environ.get("REDIS_URL"):
        return f"REDIS_URL={os.environ['REDIS_URL']}"
    binary = redis_binary()
    return f"{binary}, private, on a free port" if binary else None


def redis_header() -> str:
    source = redis_source()
    return f"redis for the tests marked redis: {source}" if source else REDIS_ABSENT


def redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis_server(port: int | None = None) -> tuple[subprocess.Popen, int]:
    """A private redis-server on a free port (or on `port`, to start one again where a test
    killed it), answering, without persistence; and its port."""
    binary = redis_binary()
    if binary is None:
        pytest.fail(REDIS_ABSENT)
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 (a fixed command)
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not redis_answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the private redis-server did not start")
        time.sleep(0.05)
    return process, port


@pytest.fixture(scope="session")
def redis_server():
    """The URL of a Redis server that answers: the environment's, or a private one."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    process, port = start_redis_server()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def clamd_header() -> str:
    source = clamd_source()
    return f"clamd for the antivirus tests: {source}" if source else CLAMD_ABSENT


def _clamd_answers(client) -> bool:
    try:
        return client.ping() == "PONG"
    except (ClamdError, OSError):
        # clamav-client's ping() leaves the socket of a failed connection open: close it.
        socket = getattr(client, "clamd_socket", None)
        if socket is not None:
            socket.close()
        return False


@pytest.fixture(scope="session")
def clamd_server():
    """The CLAMD_* settings of a clamd that answers: the environment's, or a private one."""
    if os.environ.get("CLAMD_SOCKET") or os.environ.get("CLAMD_HOST"):
        server = {
            "CLAMD_SOCKET": os.environ.get("CLAMD_SOCKET", ""),
            "CLAMD_HOST": os.environ.get("CLAMD_HOST", ""),
            "CLAMD_PORT": int(os.environ.get("CLAMD_PORT", "3310")),
        }
        client = (
            ClamdUnixSocket(server["CLAMD_SOCKET"], timeout=10)
            if server["CLAMD_SOCKET"]
            else ClamdNetworkSocket(server["CLAMD_HOST"], server["CLAMD_PORT"], timeout=10)
        )
        if not _clamd_answers(client):
            pytest.fail(f"{clamd_source()} is set but clamd does not answer PING")
        yield server
        return
    binary = clamd_binary()
    if binary is None:
        pytest.fail(CLAMD_ABSENT)
    # A short folder: a Unix socket's path is limited to about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="ep-clamd-"))
    (folder / "db").mkdir()
    shutil.copy(CLAMD_FILES / "eicar.ndb", folder / "db")
    config = (CLAMD_FILES / "clamd.conf.in").read_text().replace("@DIR@", str(folder))
    (folder / "clamd.conf").write_text(config)
    process = subprocess.Popen(  # noqa: S603 (a fixed command)
        [binary, f"--config-file={folder / 'clamd.conf'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = ClamdUnixSocket(str(folder / "clamd.sock"), timeout=10)
        deadline = time.monotonic() + 30
        while not _clamd_answers(client):
            log = folder / "clamd.log"
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "the private clamd did not start:\n"
                    + (log.read_text() if log.exists() else "(no log)")
                )
            time.sleep(0.05)
        yield {"CLAMD_SOCKET": str(folder / "clamd.sock"), "CLAMD_HOST": "", "CLAMD_PORT": 3310}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def clamd(clamd_server, settings):
    """The settings point to the real clamd of the session."""
    for name, value in clamd_server.items():
        setattr(settings, name, value)
    return clamd_server
