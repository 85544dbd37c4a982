from functools import wraps

from altcha_django.views import ChallengeView
from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.urls import include, path

from core.health import HealthCheckView

from . import legal, views

admin.site.site_header = "Espace Partenaires — administration"
admin.site.site_title = "Espace Partenaires"
admin.site.index_title = "Administration des partenaires"


def public(patterns):
    """The patterns, their views reachable without logging in (LoginRequiredMiddleware is on).

    For the e-mail provider's webhooks, which authenticate with ANYMAIL["WEBHOOK_SECRET"], and
    the anti-robot challenges of the public forms.
    """
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns


# The legal pages, each marked public by its view (issue 17, item 4).
LEGAL_PATTERNS = [
    path("accessibilite/", legal.accessibilite, name="accessibilite"),
    path("mentions-legales/", legal.mentions_legales, name="mentions_legales"),
    path("donnees-personnelles/", legal.donnees_personnelles, name="donnees_personnelles"),
    path("plan-du-site/", legal.plan_du_site, name="plan_du_site"),
]

ALTCHA_PATTERNS = [path("challenge/", ChallengeView.as_view(), name="challenge")]


def with_webhook_secret(patterns):
    """The provider's webhooks exist only while ANYMAIL["WEBHOOK_SECRET"] is set: without it,
    anymail would take bounces (which mark accounts invalid) from anyone. A 404 then, and
    `check --deploy` warns (notifications.W001). Read at each request, as every setting."""

    def guarded(view):
        @wraps(view)
        def webhook(request, *args, **kwargs):
            if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
                raise Http404
            return view(request, *args, **kwargs)

        return webhook

    for pattern in patterns:
        pattern.callback = guarded(pattern.callback)
    return patterns


# What a web node needs, for the load balancer's /healthz (django-health-check): 200 when every
# check passes, 500 otherwise; ?format=json or ?format=text. The storage check writes, reads and
# deletes a probe file of a few bytes: an upload is what the attachments storage is for.
HEALTH_CHECKS = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
    ("health_check.checks.Storage", {"alias": "attachments"}),
    "notifications.health.Broker",
]

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("demandes/", include("demandes.urls")),
    path("", include("inscriptions.urls")),
    path("", include((LEGAL_PATTERNS, "legal"))),
    path("admin/", admin.site.urls),
    # Bounces and complaints reported by the e-mail provider: accounts.bounces.
    path(
        "anymail/",
        include((with_webhook_secret(public(anymail_urls.urlpatterns)), anymail_urls.app_name)),
    ),
    # ALTCHA's challenges, fetched by the widget of the pré-inscription and contact pages.
    path("altcha/", include((public(ALTCHA_PATTERNS), "altcha_django"))),
    # For the load balancer: no log-in, no session, no rate limit, no personal data.
    path(
        "healthz",
        login_not_required(HealthCheckView.as_view(checks=HEALTH_CHECKS)),
        name="healthz",
    ),
]
