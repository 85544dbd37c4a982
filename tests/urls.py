"""The project's URLs plus a bare portal page, for tests marked @pytest.mark.urls("tests.urls").

The page checks nothing itself, as future portal pages will leave the gates (password, CGU,
organisme, staff/partner separation) to the middleware: tests on it prove the middleware does.
"""

from django.http import HttpResponse
from django.urls import path

from espace_partenaires import urls as project_urls


def partner_page(request):
    return HttpResponse("Page partenaire")


urlpatterns = [
    path("page-partenaire/", partner_page, name="partner_page"),
    *project_urls.urlpatterns,
]
