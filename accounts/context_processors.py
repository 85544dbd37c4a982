from django.conf import settings


def portal(request):
    """What the portal's header shows: the selected organisme and the user manual's address."""
    return {
        "selected_organisme": getattr(request, "organisme", None),
        "user_manual_url": settings.USER_MANUAL_URL,
    }
