"""The history of the changes people make to the fund's objects (SPEC §10, issue 17 item 3).

Every save through the admin (core.admin_history.HistoryAdminMixin) and every service an admin
action or a person calls writes one HistoryEntry through record(): who, when, and each changed
field before → after, written out at that moment in French (dates as 31/12/2027, booleans
Oui/Non, choices by their label, related objects by their name), so that the line still reads
the same once a related object is renamed or gone. Secret fields are never written.
"""

import datetime
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .models import HistoryEntry

# How a line whose author's or object's account was purged reads.
DELETED_ACCOUNT = "compte supprimé"

# Never written in the history, whatever the model: hashes, tokens, keys, a NIR.
SECRET_FIELDS = frozenset(
    {"password", "token_hash", "token", "key", "secret", "secret_key", "nir", "last_login"}
)


def value_text(field: models.Field | None, value) -> str:
    """`value` of `field` as a person reads it, in French."""
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple, set, models.QuerySet)):
        return ", ".join(value_text(None, item) for item in value)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field is not None and field.is_relation and not isinstance(value, models.Model):
        value = field.related_model._default_manager.filter(pk=value).first() or value
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def change_lines(model: type[models.Model], changes: Mapping[str, Iterable]) -> list[dict]:
    """{field: [before, after]} (core.changes.apply_changes) → the lines the history keeps,
    without the secret fields nor the fields whose text did not change."""
    lines = []
    with translation.override(settings.LANGUAGE_CODE):
        for name, (before, after) in changes.items():
            if name in SECRET_FIELDS:
                continue
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            line = {
                "field": name,
                "label": str(field.verbose_name) if field is not None else name,
                "before": value_text(field, before),
                "after": value_text(field, after),
            }
            if line["before"] != line["after"]:
                lines.append(line)
    return lines


def form_changes(form, *, add: bool = False) -> dict[str, list]:
    """{field: [before, after]} of the model fields a bound, valid ModelForm changed: `before`
    is the value the form was built with, `after` the cleaned one."""
    model = form._meta.model
    names = {field.name for field in model._meta.get_fields()}
    return {
        name: [None if add else form.initial.get(name), form.cleaned_data.get(name)]
        for name in form.changed_data
        if name in names
    }


def record(
    *,
    by,
    obj: models.Model,
    action: str = HistoryEntry.Action.CHANGE,
    changes: Mapping[str, Iterable] | None = None,
    lines: list[dict] | None = None,
    summary: str = "",
    reason: str = "",
) -> HistoryEntry | None:
    """Write one line of `obj`'s history; None when a change changes nothing and says nothing.

    `changes`: {field: [before, after]} with raw values; `lines`: lines already written out."""
    model = obj._meta.concrete_model
    lines = [*(lines or []), *change_lines(model, changes or {})]
    if action == HistoryEntry.Action.CHANGE and not lines and not summary:
        return None
    role = getattr(by, "get_role_display", None)
    return HistoryEntry.objects.create(
        by=by,
        by_role=str(role()) if role else "",
        content_type=ContentType.objects.get_for_model(model),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action=action,
        summary=str(summary)[:200],
        changes=lines,
        reason=reason,
    )


def forget_objects(model: type[models.Model], pks: Iterable) -> int:
    """The lines about objects deleted for privacy (the purge of accounts): who did what and
    when stays, the object's name and the values go. The one rewrite of the history."""
    entries = list(
        HistoryEntry._base_manager.filter(
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=True),
            object_id__in=[str(pk) for pk in pks],
        )
    )
    for entry in entries:
        entry.object_repr = DELETED_ACCOUNT
        entry.changes = [{**line, "before": None, "after": None} for line in entry.changes]
        entry.reason = ""
    HistoryEntry._base_manager.bulk_update(entries, ["object_repr", "changes", "reason"])
    return len(entries)
