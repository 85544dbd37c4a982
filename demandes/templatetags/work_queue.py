"""{% work_queue_counts %}: the agent's work queue in figures, on the admin's index."""

from django import template

from ..admin.dashboard import queue_counts

register = template.Library()


@register.inclusion_tag("admin/demandes/_queue_counts.html", takes_context=True)
def work_queue_counts(context):
    request = context["request"]
    if not request.user.is_agent:  # a superuser's "queue" would be the whole country's
        return {"counts": None}
    return {"counts": queue_counts(request)}
