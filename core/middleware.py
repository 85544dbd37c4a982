"""What every response of the portal and the admin carries, whichever app served it."""

from django.utils.cache import add_never_cache_headers


class PrivatePagesMiddleware:
    """A page or a file served to a logged-in person is theirs: no cache may keep it (a shared
    computer's browser, a proxy). Insured persons' names, their situations and the attachments
    are on these pages. Public pages keep what their view says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response
