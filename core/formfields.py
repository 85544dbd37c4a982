"""Form fields shared by the portal's and the admin's forms."""

from django import forms
from django.forms.models import ModelChoiceIterator


class _ListedChoices(ModelChoiceIterator):
    """The choices read by one plain query. Django's iterator() is, on PostgreSQL, a server-side
    cursor: DECLARE, FETCH, CLOSE and the query itself, four round trips at every rendering of a
    select of a few dozen rows (measured on the history's filters, docs/performance.md)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ModelChoiceField(forms.ModelChoiceField):
    iterator = _ListedChoices
