"""Model instances from rows read by hand-written SQL, exactly as the ORM would build them.

Two readings are written by hand for their cost (docs/decisions.md, issue 20): the login chain
of every request (accounts/login_chain.py) and the partner's history (demandes/history.py). Both
select a model's columns under a table alias and turn each row back into the instance the ORM
would give: the same values, through the same converters (dates on SQLite, JSON…), the columns
not read deferred as with `.only()`.
"""

from collections.abc import Callable, Iterable, Sequence

from django.db import connection, models


class ModelColumns:
    """Some (by default all) of a model's concrete columns under a table alias, and how to turn
    their values back into the field values the ORM would give (the backend's and the field's
    database converters)."""

    def __init__(self, model: type[models.Model], alias: str, names: Iterable[str] | None = None):
        self.model = model
        fields = model._meta.concrete_fields
        if names is not None:
            wanted = {model._meta.get_field(name).attname for name in names}
            wanted.add(model._meta.pk.attname)
            fields = [field for field in fields if field.attname in wanted]
        self.fields: Sequence[models.Field] = fields
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
        self.converters = []
        for field in self.fields:
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            self.converters.append((column, found))
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)

    def instance(self, values) -> models.Model | None:
        """The model instance of these values, None when the row joined nothing."""
        if values[self.pk_index] is None:
            return None
        converted = []
        for value, (column, found) in zip(values, self.converters, strict=True):
            for converter in found:
                value = converter(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.attnames, converted)

    def __len__(self) -> int:
        return len(self.fields)


class PerDatabase[T]:
    """What a reading builds once per database vendor (its statements, its columns): the models
    do not change while the process runs, and the tests run on SQLite and PostgreSQL."""

    def __init__(self, build: Callable[[], T]):
        self.build = build
        self.built: dict[str, T] = {}

    def __call__(self) -> T:
        built = self.built.get(connection.vendor)
        if built is None:
            built = self.built[connection.vendor] = self.build()
        return built
