import os

import pytest
from django.conf import settings

from espace_partenaires.celery import app as celery_app


def pytest_configure(config):
    # Static files without the collectstatic manifest; e-mail tasks run in the test's thread.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Tests run tasks eagerly, except the real-worker test, which uses Redis when REDIS_URL is
    # set (CI) and an in-memory broker otherwise (never the folder `make run` uses).
    celery_app.conf.broker_url = os.environ.get("REDIS_URL") or "memory://"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    # Hashing at full strength would make the suite minutes long; the real hasher is Django's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the callbacks registered with transaction.on_commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def pytest_report_header(config):
    from django.db import connection

    broker = celery_app.conf.broker_url.split(":", 1)[0]
    return f"database: {connection.vendor}; celery broker for the real-worker test: {broker}"
