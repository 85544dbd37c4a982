"""One diff of fields: what a change sets, what the history keeps, and how it is read back.

A change is {field name: [before, after]}, stored as is in the history rows of every app (accounts,
structures) and turned into French lines with the labels of the model's fields.
"""

from django.db import models


def apply_changes(instance: models.Model, fields, data: dict) -> dict[str, list]:
    """Set on `instance` the `fields` whose value in `data` differs; returns {field: [before,
    after]}, what the history keeps and change_lines() reads."""
    changes = {}
    for name in fields:
        if name in data and data[name] != getattr(instance, name):
            changes[name] = [getattr(instance, name), data[name]]
            setattr(instance, name, data[name])
    return changes


def change_lines(changes: dict[str, list], model: type[models.Model]) -> list[tuple[str, str, str]]:
    """{"civilite": ["MME", "M"]} → [("civilité", "« Madame »", "« Monsieur »")], to be read,
    with the labels of `model`'s fields."""

    def quoted(value) -> str:
        return f"« {value} »" if value not in ("", None) else "« »"

    lines = []
    for name, (before, after) in changes.items():
        field = model._meta.get_field(name)
        if field.choices:
            labels = dict(field.flatchoices)
            before, after = labels.get(before, before), labels.get(after, after)
        lines.append((str(field.verbose_name), quoted(before), quoted(after)))
    return lines


def describe_changes(changes: dict[str, list], model: type[models.Model]) -> str:
    """'nom usuel : « » → « MARTIN » ; téléphone : « 07… » → « 06… »', for a message."""
    return " ; ".join(
        f"{label} : {before} → {after}" for label, before, after in change_lines(changes, model)
    )
