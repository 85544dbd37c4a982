import time

from django.urls import reverse

# A PDF that readers open: header, catalogue, one empty page, cross-reference table, trailer.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
    b"0000000056 00000 n \n0000000111 00000 n \n"
    b"trailer <</Size 4 /Root 1 0 R>>\nstartxref\n182\n%%EOF\n"
)


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
