"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's
live_server (issue 7). Without /usr/bin/chromium they are deselected, and the pytest header says
so in one line (tests/conftest.py).

The fixtures are written here rather than taken from pytest-playwright, whose Playwright instance
lives for the whole session: Playwright's synchronous API keeps an asyncio loop running in the
main thread, which makes Django refuse ORM calls from that thread (SynchronousOnlyOperation). Here
Playwright lives only while this package's tests run, and only they are allowed to mix the two.
"""

import os
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import User
from tests.browser import CHROMIUM
from tests.helpers import totp_code

# The flags a closed network needs: no background connection, no update, no sync, no first run.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def browser():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def links_to_live_server(settings, live_server):
    """The links of the e-mails lead to the test's server."""
    settings.SITE_URL = live_server.url


@pytest.fixture
def new_page(browser, live_server):
    """new_page(width=…, javascript=…) → a page in a fresh context (its own cookies)."""
    contexts = []

    def make(*, width: int = 1280, height: int = 900, javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale="fr-FR",
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture(scope="package")
def axe() -> Axe:
    return Axe()  # axe-core is bundled with axe-playwright-python: no network needed


@pytest.fixture
def accessible(axe):
    """accessible(page, "what") checks the page with axe-core: zero violations of any impact."""

    def check(page: Page, state: str) -> None:
        page.wait_for_load_state()
        violations = axe.run(page).response["violations"]
        assert violations == [], f"{state} ({page.url}):\n" + "\n".join(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} — "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
            for violation in violations
        )

    return check


def log_in(page: Page, identifiant: str, password: str) -> None:
    page.goto("/connexion/")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def log_in_with_app(page: Page, identifiant: str, password: str) -> None:
    """An agent or a superuser logs in: the password, then the code of their authenticator
    app (enrolled earlier: the scenario's agent has one) on the second factor's page."""
    log_in(page, identifiant, password)
    give_app_code(page, identifiant)


def give_app_code(page: Page, identifiant: str) -> None:
    heading(page, "Confirmez votre connexion")
    device = User.objects.get(identifiant=identifiant).totpdevice_set.get(confirmed=True)
    page.get_by_label("Code de l'application ou code de secours").fill(totp_code(device))
    page.get_by_role("button", name="Valider").click()


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(re.escape(text)))


def menu(page: Page, entry: str) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=entry).click()
