"""{% demande_result_list cl %}: Django's {% result_list cl %}, its rows rendered once per page
(demandes/admin/rows.py), in the same template (admin/…/change_list_results.html)."""

from django import template
from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.base import InclusionAdminNode

from ..admin.rows import filters_html, page_results

register = template.Library()


def demande_result_list(cl):
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": page_results(cl),
    }


@register.tag(name="demande_result_list")
def demande_result_list_tag(parser, token):
    return InclusionAdminNode(
        "demande_result_list",
        parser,
        token,
        func=demande_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )


@register.simple_tag
def demande_list_filters(cl):
    """{% for spec in cl.filter_specs %}{% admin_list_filter cl spec %}{% endfor %}, each
    standard filter written at once (demandes/admin/rows.py)."""
    return filters_html(cl)
