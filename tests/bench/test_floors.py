"""Issue 20, item 5: the benchmarks' floors (bench/floors.py) exist only under the bench's own
URLconf (bench/settings.py): the portal never answers them; under the bench they answer as the
benchmarks expect (a logged-in technicien, every middleware or none)."""

import pytest
from django.test import Client, override_settings
from django.urls import Resolver404, resolve

from accounts.middleware import SESSION_ORGANISME_KEY
from bench import floors
from tests.factories import ConventionFactory, TechnicienFactory
from tests.helpers import log_in_verified

pytestmark = pytest.mark.django_db

PATHS = [floors.FLOOR_BARE, floors.FLOOR_MIDDLEWARE, floors.FLOOR_TEMPLATE]


@pytest.fixture
def technicien_client(client):
    convention = ConventionFactory()
    log_in_verified(client, TechnicienFactory(structure=convention.structure))
    session = client.session
    session[SESSION_ORGANISME_KEY] = convention.organisme_id
    session.save()
    return client


@pytest.mark.parametrize("path", PATHS)
def test_the_portal_does_not_serve_the_floors(technicien_client, path):
    with pytest.raises(Resolver404):
        resolve(path)
    assert technicien_client.get(path).status_code == 404


@override_settings(ROOT_URLCONF="bench.urls")
@pytest.mark.parametrize("path", [floors.FLOOR_MIDDLEWARE, floors.FLOOR_TEMPLATE])
def test_under_the_bench_the_floors_pass_every_middleware_for_a_partner(technicien_client, path):
    response = technicien_client.get(path)

    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers  # the middlewares ran
    assert technicien_client.get("/").status_code == 200  # and the portal is still there


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_small_template_is_a_portal_page_on_base_html(technicien_client):
    response = technicien_client.get(floors.FLOOR_TEMPLATE)

    # base.html's header, menu and footer, around the floor's own content
    assert '<header class="site-header">' in response.text
    assert '<nav class="menu" aria-label="Menu principal">' in response.text
    assert '<footer class="site-footer">' in response.text
    assert "Plancher du banc" in response.text


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_bare_floor_runs_no_middleware():
    client = Client()
    client.handler = floors.BareClientHandler()

    response = client.get(floors.FLOOR_BARE)

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "Content-Security-Policy" not in response.headers
    assert "X-Frame-Options" not in response.headers
