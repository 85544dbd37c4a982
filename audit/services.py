"""Writing the access log: one INSERT per audited request of an agent or a superuser.

The views call record_access with what they already hold (the user, the object and its
reference): no query to find them, so that the page costs exactly one query more. Partners'
reads of their own structure's demandes are not logged (SPEC §10).
"""

import ipaddress

from django.http import HttpRequest

from core.limits import client_ip

from .models import AccessLogEntry

Action = AccessLogEntry.Action
ObjectType = AccessLogEntry.ObjectType


def record_access(
    request: HttpRequest,
    action: str,
    *,
    object_type: str,
    object_id: int | None = None,
    reference: str = "",
) -> AccessLogEntry | None:
    """One row for this request if it is a staff account's (agent de caisse, administrator)."""
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return None
    return AccessLogEntry.objects.create(
        user=user,
        user_label=user.get_username(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        reference=reference,
        client_ip=_address(client_ip(request)),
    )


def _address(value: str | None) -> str | None:
    """The client's address, or None when what the header says is not one (a misconfigured
    proxy must not break the page, nor write text into an inet column)."""
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None
