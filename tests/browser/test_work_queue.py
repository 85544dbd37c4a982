"""The agents' work queue at 1280 px, the width of an agent's screen (issue 18, item 7): one line
per demande, every column in view, with room left for the columns still to come."""

import pytest

from tests.browser import pages
from tests.browser.conftest import give_app_code, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEASURE = """() => {
  const table = document.querySelector("#result_list");
  const rows = [...table.querySelectorAll("tbody tr")];
  // A cell on two lines is more than twice as high as its line, beyond its padding.
  const tooHigh = (cell) => {
    const style = getComputedStyle(cell);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const line = parseFloat(style.lineHeight) || 20;
    return cell.getBoundingClientRect().height > 1.9 * line + padding;
  };
  const wrapped = rows.flatMap((row) => [...row.cells]
    .filter(tooHigh).map((cell) => cell.className + ": " + cell.innerText));
  return {
    rows: rows.length,
    wrapped,
    tableRight: table.getBoundingClientRect().right,
    containerRight: table.closest(".results").getBoundingClientRect().right,
    width: document.documentElement.clientWidth,
    scroll: document.documentElement.scrollWidth,
    headers: [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim()),
  };
}"""


def test_the_list_fits_on_one_line_per_demande_at_1280_px(page):
    pages.build()
    log_in(page, "agent.gironde", pages.TEST_PASSWORD)
    give_app_code(page, "agent.gironde")
    page.goto("/admin/demandes/demande/")
    page.wait_for_load_state()

    measure = page.evaluate(MEASURE)

    assert measure["rows"] >= 2
    assert measure["wrapped"] == []
    assert measure["scroll"] <= measure["width"]
    for header in (
        "RÉFÉRENCE",
        "URGENCE",
        "OFFRE",
        "STRUCTURE",
        "ASSURÉ",
        "ENVOYÉE LE",
        "ÂGE",
        "STATUT",
        "ATTRIBUÉE À",
        "MESSAGES",
    ):
        assert header in [h.upper() for h in measure["headers"]]
    # Every column in view, the age and the unread messages included (issue 18, items 3, 6, 7).
    assert measure["tableRight"] <= measure["containerRight"], measure


def test_the_structure_filter_is_chosen_with_the_keyboard_and_without_javascript(new_page):
    """The structures are a drop-down list and a button (issue 20, item 3): chosen by keyboard,
    sent without JavaScript, the status already chosen kept."""
    data = pages.build()
    page = new_page(javascript=False)
    log_in(page, "agent.gironde", pages.TEST_PASSWORD)
    give_app_code(page, "agent.gironde")
    page.goto("/admin/demandes/demande/?statut__exact=envoyee")
    page.wait_for_load_state()

    select = page.get_by_label("Structure", exact=True)
    options = select.locator("option").all_inner_texts()
    assert options[0] == "Toutes" and len(options) >= 2
    chosen = data.people.structure
    select.focus()
    select.select_option(label=chosen.nom)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.outerHTML").startswith('<button type="submit"')
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert f"structure={chosen.pk}" in page.url and "statut__exact=envoyee" in page.url
    assert page.get_by_label("Structure", exact=True).input_value() == str(chosen.pk)
    cells = page.locator("#result_list td.field-structure_display").all_inner_texts()
    assert all(cell == chosen.nom for cell in cells)
