"""Every page of tests/browser/pages.py at 360 px wide, a small phone: nothing wider than the
screen, so no horizontal scrolling (issue 7, RGAA 10.11)."""

import pytest
from playwright.sync_api import Page

from tests.browser import pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  const wider = [...document.querySelectorAll("body *")]
    .filter((element) => element.getBoundingClientRect().right > width + 1)
    .map((element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
      + (element.className && typeof element.className === "string"
         ? "." + element.className.trim().split(/\\s+/).join(".") : ""));
  return {scroll: document.documentElement.scrollWidth, width, wider: wider.slice(0, 8)};
}"""


@pytest.fixture
def data():
    return pages.build()


@pytest.fixture
def narrow(new_page) -> Page:
    return new_page(width=WIDTH, height=740)


@pytest.fixture
def fits():
    problems = []

    def visit(page: Page, state: str) -> None:
        page.wait_for_load_state()
        measure = page.evaluate(WIDEST)
        if measure["scroll"] > measure["width"]:
            problems.append(f"{state}: {measure['scroll']} px > {measure['width']} px, {measure}")

    yield visit
    assert problems == [], "\n".join(problems)


def test_public_and_email_link_pages(narrow, data, fits):
    pages.walk_public(narrow, fits)
    pages.walk_invitation(narrow, fits, data)


def test_gestionnaire_pages(narrow, data, fits):
    pages.walk_gestionnaire(narrow, fits)
    narrow.context.clear_cookies()
    pages.walk_confirmation_pages(narrow, fits)


def test_other_gestionnaires_and_technicien_pages(narrow, data, fits):
    pages.walk_other_gestionnaires(narrow, fits)
    narrow.context.clear_cookies()
    pages.walk_technicien(narrow, fits, data)
