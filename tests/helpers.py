import time

from django.urls import reverse


def log_in(client, identifiant: str, password: str) -> bool:
    """Log in through the real log-in page (django-axes counts it); True if it succeeded.

    Django's `client.login()` authenticates without a request, which django-axes rightly refuses.
    """
    client.logout()
    client.post(reverse("accounts:login"), {"username": identifiant, "password": password})
    return "_auth_user_id" in client.session


def wait_for(condition, timeout: float = 30.0) -> bool:
    """Poll `condition` until true, at most `timeout` seconds: for work done by a real worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
