"""The real processes of the fault tests: a private Redis as Celery's broker, which a test may kill
and start again on the same port, and Celery worker processes on the test database, whose e-mails
are files (MAILER=local) that the test reads.

A worker process sees only committed rows: the tests that use one are
`django_db(transaction=True)`.
"""

import contextlib
import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu.exceptions import OperationalError

from espace_partenaires.celery import app as celery_app
from tests.conftest import redis_answers, start_redis_server, use_broker

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
# Django's file backend writes each message followed by this line (several messages may share a
# file: its name is the second and the backend's id(), which Python reuses).
MESSAGE_END = b"\n" + b"-" * 79 + b"\n"


def database_url() -> str:
    """DATABASE_URL of the test database, for a process the test starts."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"  # an absolute path: sqlite:////…
    user, password = quote(database["USER"], safe=""), quote(database["PASSWORD"], safe="")
    return f"postgres://{user}:{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


# --- The broker ------------------------------------------------------------------------------


@dataclass
class Broker:
    """This test's own redis-server."""

    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        assert not redis_answers("127.0.0.1", self.port)

    def restart(self) -> None:
        """Start it again, empty, on the same port (the broker is back)."""
        self.process, _ = start_redis_server(self.port)

    def queued(self, queue: str = "celery") -> int:
        """Messages waiting in the queue, not yet taken by a worker."""
        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            return client.llen(queue)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_broker():
    """This test's own redis-server, the broker of the test's process (tasks published, not run
    in the test's thread) and of the workers it starts."""
    process, port = start_redis_server()
    broker = Broker(process, port)
    use_broker(broker.url)
    celery_app.conf.task_always_eager = False
    try:
        yield broker
    finally:
        celery_app.conf.task_always_eager = True
        use_broker("memory://")
        broker.stop()


# --- Workers ---------------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    name: str
    log: Path

    def answers(self) -> bool:
        try:
            return bool(celery_app.control.ping(destination=[self.name], timeout=1, limit=1))
        except OperationalError:
            return False

    def idle(self, broker: "Broker") -> bool:
        """Nothing left in the queue, nothing running or reserved: every message was handled."""
        if broker.queued():
            return False
        inspect = celery_app.control.inspect(destination=[self.name], timeout=1, limit=1)
        active, reserved = inspect.active(), inspect.reserved()
        return bool(active and reserved) and not active[self.name] and not reserved[self.name]

    def wait_until_ready(self, timeout: float = 60) -> float:
        """Seconds until it answers a ping (it consumes from then on)."""
        start = time.monotonic()
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() - start > timeout:
                pytest.fail(f"the worker did not start:\n{self.log_tail()}")
        return time.monotonic() - start

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)  # its session: prefork's children too
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            # A cold shutdown (a warm one waits for the pool's children, seconds with prefork):
            # the tests wait for the work they check before they end.
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a child left behind, if any

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    """Where the workers' e-mails are written, one file each (MAILER=local)."""
    folder = tmp_path / "emails"
    folder.mkdir()
    return folder


@pytest.fixture
def start_worker(redis_broker, mail_dir, tmp_path):
    """start_worker(pool="solo", concurrency=1, loglevel="WARNING", **environment): a `celery
    worker` process on the test database and this test's Redis, sending its e-mails to files in
    `mail_dir`; stopped at the end of the test (before its Redis)."""
    workers: list[Worker] = []

    def start(
        *, pool: str = "solo", concurrency: int = 1, loglevel: str = "WARNING", **environment: str
    ) -> Worker:
        name = f"fault-{uuid.uuid4().hex[:8]}@localhost"
        log = tmp_path / f"{name.split('@')[0]}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": redis_broker.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "MAILER": "local",
            "EMAIL_FILE_DIR": str(mail_dir),
            "SITE_URL": settings.SITE_URL,
            "LOG_LEVEL": "WARNING",
            **environment,
        }
        with log.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 (a fixed command)
                [
                    str(CELERY),
                    "-A",
                    "espace_partenaires",
                    "worker",
                    f"--pool={pool}",
                    f"--concurrency={concurrency}",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                    "-Q",
                    "celery",
                    "-n",
                    name,
                    f"--loglevel={loglevel}",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,  # the console copy of each e-mail
                stderr=stderr,
                start_new_session=True,
            )
        worker = Worker(process, name, log)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


def sent_emails(folder: Path) -> list[EmailMessage]:
    """The e-mails written so far to `folder` by Django's file backend, complete ones only."""
    messages = []
    for path in sorted(folder.iterdir()):
        for raw in path.read_bytes().split(MESSAGE_END)[:-1]:  # after the last end: unfinished
            messages.append(email.message_from_bytes(raw.lstrip(), policy=email.policy.default))
    return messages


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()
