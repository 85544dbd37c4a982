"""An agent de caisse enrols a second factor at the first admin log-in, and gives it at the next
one: with an authenticator app (the secret read from the page, as typed by hand), and with a
passkey held by Chromium's virtual authenticator (SPEC §10). axe-core on every page."""

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from playwright.sync_api import Page, expect

from tests.browser.conftest import heading, log_in
from tests.factories import TEST_PASSWORD, AgentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent():
    return AgentFactory(identifiant="c.martin", prenom="Claire", nom_patronymique="MARTIN")


def code_from_secret(secret_text: str, drift: int = 0) -> str:
    """What an authenticator app shows for a secret typed by hand (base32, in groups)."""
    secret = secret_text.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, step=30, t0=0, digits=6, drift=drift):06d}"


def reaches_the_admin(page: Page) -> None:
    expect(page.get_by_role("heading", name="Administration des partenaires")).to_be_visible()


def recovery_codes(page: Page, accessible) -> list[str]:
    heading(page, "Vos codes de secours")
    accessible(page, "codes de secours")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    page.get_by_role("link", name="Continuer vers l'administration").click()
    return codes


def test_an_agent_enrols_an_authenticator_app_then_logs_in_with_its_code(page, agent, accessible):
    log_in(page, "c.martin", TEST_PASSWORD)
    heading(page, "Activer la double authentification")
    accessible(page, "activation du second facteur")
    expect(page.locator("svg.qr-code")).to_be_visible()
    secret = page.locator("#otp-secret").inner_text()

    page.get_by_label("Code à 6 chiffres affiché par l'application").fill("000000")
    page.get_by_role("button", name="Activer").click()
    expect(page.locator(".errorlist")).to_contain_text("Ce code n'est pas valide")
    accessible(page, "activation du second facteur, code refusé")
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(code_from_secret(secret))
    page.get_by_role("button", name="Activer").click()

    codes = recovery_codes(page, accessible)
    assert len(codes) == 10
    assert set(codes) == set(StaticToken.objects.values_list("token", flat=True))
    reaches_the_admin(page)

    page.context.clear_cookies()
    log_in(page, "c.martin", TEST_PASSWORD)
    heading(page, "Confirmez votre connexion")
    accessible(page, "second facteur")
    # The next step's code: the one typed at the enrolment is accepted only once.
    page.get_by_label("Code de l'application ou code de secours").fill(
        code_from_secret(secret, drift=1)
    )
    page.get_by_role("button", name="Valider").click()
    reaches_the_admin(page)


def virtual_authenticator(page: Page) -> None:
    """Chromium's virtual authenticator, as a platform one with a fingerprint that matches."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def use_passkey(page: Page, accessible, *, title: str, button: str) -> None:
    """Log in with the password, then press the passkey button of the page that follows."""
    log_in(page, "c.martin", TEST_PASSWORD)
    heading(page, title)
    passkey = page.get_by_role("button", name=button)
    expect(passkey).to_be_visible()  # shown by static/js/passkey.js: WebAuthn is there
    accessible(page, f"{title}, clé d'accès proposée")
    passkey.click()


def test_an_agent_enrols_a_passkey_then_logs_in_with_it(page, agent, accessible):
    virtual_authenticator(page)
    use_passkey(
        page, accessible, title="Activer la double authentification", button="Créer une clé d'accès"
    )
    assert len(recovery_codes(page, accessible)) == 10
    reaches_the_admin(page)

    page.context.clear_cookies()
    use_passkey(
        page, accessible, title="Confirmez votre connexion", button="Utiliser ma clé d'accès"
    )
    reaches_the_admin(page)


def test_without_javascript_the_app_path_works_and_no_passkey_is_offered(new_page, agent):
    page = new_page(javascript=False)
    log_in(page, "c.martin", TEST_PASSWORD)
    heading(page, "Activer la double authentification")
    expect(page.get_by_role("button", name="Créer une clé d'accès")).to_be_hidden()
    secret = page.locator("#otp-secret").inner_text()
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(code_from_secret(secret))
    page.get_by_role("button", name="Activer").click()
    heading(page, "Vos codes de secours")
