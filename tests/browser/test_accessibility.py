"""axe-core on every portal page and state, with zero violations of any impact (issue 7, RGAA).
The pages and states are those of tests/browser/pages.py."""

import pytest

from tests.browser import pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def data():
    return pages.build()


def test_public_pages(page, data, accessible):
    pages.walk_public(page, accessible)


def test_email_link_pages(page, data, accessible):
    pages.walk_invitation(page, accessible, data)


def test_gestionnaire_pages(page, data, accessible):
    pages.walk_gestionnaire(page, accessible)


def test_gestionnaire_home_and_the_structures_demandes(page, data, accessible):
    pages.walk_gestionnaire_with_demandes(page, accessible)


def test_confirmation_pages(page, data, accessible):
    pages.walk_confirmation_pages(page, accessible)


def test_empty_lists_and_no_organisme(page, data, accessible):
    pages.walk_other_gestionnaires(page, accessible)


def test_technicien_pages(page, data, accessible):
    pages.walk_technicien(page, accessible, data)


def test_agent_pages_of_the_admin(page, data, accessible):
    pages.walk_agent(page, accessible, data)
