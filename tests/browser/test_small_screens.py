"""Every page of tests/browser/pages.py at 360 px wide, a small phone: nothing wider than the
screen, so no horizontal scrolling (issue 7, RGAA 10.11), and no inner box that scrolls sideways
either (issue 19, item 5): a table 759 px wide in a 328 px scrolling region is still a page that
scrolls sideways, only less visibly. Below the breakpoint, tables are stacked cards."""

import pytest
from playwright.sync_api import Page

from tests.browser import pages
from tests.browser.conftest import log_in, menu
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
# What sticks out: the page itself wider than the screen; an element whose right edge is beyond
# the viewport; an element that scrolls sideways inside (overflow-x auto or scroll and content
# wider than its box).
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const name = (element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
    + (element.className && typeof element.className === "string"
       ? "." + element.className.trim().split(/\\s+/).join(".") : "");
  const elements = [...document.querySelectorAll("body *")];
  const beyond = elements
    .filter((element) => element.getBoundingClientRect().right > width + 1)
    .map(name);
  const scrollBoxes = elements
    .filter((element) => ["auto", "scroll"].includes(getComputedStyle(element).overflowX)
      && element.scrollWidth > element.clientWidth + 1)
    .map((element) => `${name(element)} (${element.scrollWidth} px in ${element.clientWidth})`);
  return {scroll: document.documentElement.scrollWidth, width,
          beyond: beyond.slice(0, 8), scrollBoxes: scrollBoxes.slice(0, 8)};
}"""


@pytest.fixture
def data():
    return pages.build()


@pytest.fixture
def narrow(new_page) -> Page:
    return new_page(width=WIDTH, height=740)


@pytest.fixture
def fits(axe):
    """Each page fits in 360 px, and axe-core finds nothing on it at that width either (a layout
    of its own: stacked tables, labels above values)."""
    problems = []

    def visit(page: Page, state: str) -> None:
        page.wait_for_load_state()
        measure = page.evaluate(MEASURE)
        if measure["scroll"] > measure["width"] or measure["beyond"] or measure["scrollBoxes"]:
            problems.append(f"{state}: {measure}")
        # A limit is said and the server refuses what is over it; the browser never cuts what is
        # typed or pasted without a word (issue 19, item 3).
        cut = page.eval_on_selector_all(
            "input[maxlength], textarea[maxlength]", "(fields) => fields.map((f) => f.name)"
        )
        if cut:
            problems.append(f"{state}: maxlength on {cut}")
        problems.extend(axe_problems(axe, page, state))

    yield visit
    assert problems == [], "\n".join(problems)


def axe_problems(axe, page: Page, state: str) -> list[str]:
    violations = axe.run(page).response["violations"]
    return [
        f"{state}: axe {v['id']} — {[node['target'] for node in v['nodes'][:3]]}"
        for v in violations
    ]


def test_public_and_email_link_pages(narrow, data, fits):
    pages.walk_public(narrow, fits)
    pages.walk_invitation(narrow, fits, data)


def test_gestionnaire_pages(narrow, data, fits):
    pages.walk_gestionnaire(narrow, fits)
    narrow.context.clear_cookies()
    pages.walk_confirmation_pages(narrow, fits)
    narrow.context.clear_cookies()
    pages.walk_gestionnaire_with_demandes(narrow, fits)


def test_other_gestionnaires_and_technicien_pages(narrow, data, fits):
    pages.walk_other_gestionnaires(narrow, fits)
    narrow.context.clear_cookies()
    pages.walk_technicien(narrow, fits, data)


def test_agent_pages_of_the_admin_pass_axe_at_360_px(narrow, data, axe):
    """The admin keeps Django's own responsive layout (its lists may scroll inside their box on
    a phone); axe-core finds nothing on its pages at 360 px either."""
    problems = []

    def visit(page: Page, state: str) -> None:
        page.wait_for_load_state()
        problems.extend(axe_problems(axe, page, state))

    pages.walk_agent(narrow, visit, data)
    assert problems == [], "\n".join(problems)


LABELS_AND_VALUES = """() => [...document.querySelectorAll("dl.facts")].flatMap((list) =>
  [...list.querySelectorAll("dd")].map((dd) => {
    const dt = dd.previousElementSibling;
    const line = parseFloat(getComputedStyle(dd).lineHeight);
    const value = dd.getBoundingClientRect();
    return {label: dt.innerText, value: dd.innerText,
            below: value.top >= dt.getBoundingClientRect().bottom - 1,
            lines: Math.round(value.height / line)};
  }))"""


def test_the_insured_persons_values_are_whole_words_under_their_labels(narrow, data):
    """ "Monsieur" was cut into "Mon/sieu/r" in a column too narrow beside its label: at 360 px
    each label is above its value, and a short value is on one line."""
    log_in(narrow, "m.pichon", TEST_PASSWORD)
    narrow.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    pages.submit(narrow, "Valider")
    menu(narrow, "Mes demandes")
    narrow.get_by_role("link", name=data.demande_complement).click()

    facts = narrow.evaluate(LABELS_AND_VALUES)

    labels = {fact["label"] for fact in facts}
    assert {"Nom et prénom", "Date de naissance", "Département de résidence"} <= labels
    for fact in facts:
        assert fact["below"], fact
        if len(fact["value"]) <= 25:
            assert fact["lines"] == 1, fact


def test_a_table_is_stacked_cards_each_value_labelled_by_its_column(narrow, data):
    """Below the breakpoint a row of "Mes demandes" is a card; each cell shows its column's
    header before its value (and the table stays a table for assistive technologies)."""
    log_in(narrow, "m.pichon", TEST_PASSWORD)
    narrow.get_by_label("Organisme").select_option(label="CPAM GIRONDE")
    pages.submit(narrow, "Valider")
    menu(narrow, "Mes demandes")

    cells = narrow.evaluate(
        """() => [...document.querySelectorAll("table.demandes tbody td")].map((cell) => ({
          label: getComputedStyle(cell, "::before").content,
          display: getComputedStyle(cell).display,
          header: cell.closest("table").querySelectorAll("thead th")[cell.cellIndex].innerText}))"""
    )

    assert cells
    for cell in cells:
        assert cell["display"] == "block", cell
        assert cell["label"] == f'"{cell["header"]}"', cell
    assert narrow.get_by_role("table").count() == 1
    assert narrow.get_by_role("columnheader").count() == 6
