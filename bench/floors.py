"""The three floors of issue 20, measured in the same run as the pages (bench.pages, bench.load).

- FLOOR_BARE: a trivial view behind no middleware at all (BareHandler, BareClientHandler):
  what Django itself costs per request;
- FLOOR_MIDDLEWARE: the same view behind every middleware, for a logged-in partner with an
  organisme selected: the session, the user, the policy (the login chain), CSRF, CSP…;
- FLOOR_TEMPLATE: a small page on base.html for the same partner: the header, the menu, the
  footer every portal page has.

A portal page is then compared with FLOOR_TEMPLATE measured at the same minute, which holds on
a noisy machine where the milliseconds do not.
"""

from functools import cache

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.template import engines
from django.test.client import ClientHandler

PREFIX = "/__bench__/"
FLOOR_BARE = PREFIX + "bare/"
FLOOR_MIDDLEWARE = PREFIX + "middleware/"
FLOOR_TEMPLATE = PREFIX + "template/"


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


# Compiled once per process, as the cached loader keeps the portal's templates.
SMALL_TEMPLATE = """{% extends "base.html" %}
{% block title %}Plancher{% endblock %}
{% block content %}
<h1>Plancher du banc d'essai</h1>
<p>Une petite page sur le gabarit de base.</p>
{% endblock %}"""


@cache
def _small_template():
    return engines["jinja2"].from_string(SMALL_TEMPLATE)


def small_template(request):
    return HttpResponse(_small_template().render(request=request))


class _NoMiddleware:
    """Django's handler with an empty middleware chain (settings.MIDDLEWARE left as it is for
    every other request of the process)."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


class BareHandler(_NoMiddleware, WSGIHandler):
    pass


class BareClientHandler(_NoMiddleware, ClientHandler):
    pass
