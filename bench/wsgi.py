"""gunicorn's application for bench.load: the portal, and the bare floor without middleware."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup(set_prefix=False)

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from bench.floors import FLOOR_BARE, BareHandler  # noqa: E402

portal, bare = WSGIHandler(), BareHandler()


def application(environ, start_response):
    handler = bare if environ.get("PATH_INFO", "").startswith(FLOOR_BARE) else portal
    return handler(environ, start_response)
