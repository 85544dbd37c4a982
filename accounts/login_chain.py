"""The login chain of every request, read by hand-written SQL (docs/decisions.md, issue 20).

Every logged-in request reads the session, the user with its structure, and (for a partner) the
conventions en cours or à venir of that structure with their organismes, which
AccountPolicyMiddleware needs. Through the ORM this cost 3.5 to 5 ms of processor per request,
85 % of it in building and compiling the querysets; the same statements written by hand cost
less than half a millisecond. So here, in two round trips instead of three:

1. the session row (its key is the cookie; what it holds is signed and encoded, so the user's
   id is known only once it is decoded in Python: it cannot be joined in the same statement);
2. the user, its structure, and its structure's conventions with their organismes, in one
   statement (one row per convention, the user's columns repeated; one row of NULLs beyond
   the user's columns when there is none).

Nothing is cached between requests: each request reads the rows as they are, so a deactivated
account, a suspended structure or an ended convention lose access on the very next request.
The decisions are the ORM's (AccountBackend.user_can_authenticate, selection.choices_from):
only the reading changes, and tests/accounts/test_login_chain.py compares both readings on
every state, on SQLite and on PostgreSQL. The statements are built once per process from the
models' own columns, and the values go through each field's database converters (dates on
SQLite, JSON…), exactly as the ORM does, so the instances are the ORM's (core/rows.py).
"""

import datetime
from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from conventions.models import Convention
from core.rows import ModelColumns, PerDatabase
from organismes.models import Organisme, StructurePartenaire

from .models import User
from .selection import OrganismeChoice, choices_from, organisme_choices

# Where the user read by the chain keeps its structure's conventions, for the rest of its request.
CONVENTIONS_ATTRIBUTE = "_login_chain_conventions"


@dataclass(frozen=True)
class Read:
    """The conventions en cours or à venir on `today` of the user's structure (organismes
    attached), as read with the user."""

    today: datetime.date
    conventions: list[Convention]


class _Statements:
    """Built once per database vendor: the models do not change while the process runs."""

    def __init__(self):
        quote = connection.ops.quote_name
        self.session = ModelColumns(Session, "ses")
        self.user = ModelColumns(User, "u")
        self.structure = ModelColumns(StructurePartenaire, "s")
        self.convention = ModelColumns(Convention, "c")
        self.organisme = ModelColumns(Organisme, "o")
        # Written from the models' own table and column names (no input): the SQL of the ORM's
        # Session.objects.get(session_key=…, expire_date__gt=now).
        self.session_sql = (
            f"SELECT {self.session.sql} FROM {quote(Session._meta.db_table)} ses "  # noqa: S608
            "WHERE ses.session_key = %s AND ses.expire_date > %s"
        )
        # The ORM's User.objects.select_related("structure").get(pk=…), then selection's
        # Convention.objects.filter(structure=…).en_cours_ou_a_venir(today)
        # .select_related("organisme").order_by("organisme__nom", "organisme_id", "date_debut",
        # "pk"), in one statement.
        self.user_sql = (
            f"SELECT {self.user.sql}, {self.structure.sql}, {self.convention.sql}, "  # noqa: S608
            f"{self.organisme.sql} FROM {quote(User._meta.db_table)} u "
            f"LEFT JOIN {quote(StructurePartenaire._meta.db_table)} s ON s.id = u.structure_id "
            f"LEFT JOIN {quote(Convention._meta.db_table)} c ON c.structure_id = u.structure_id "
            "AND (c.date_fin IS NULL OR c.date_fin >= %s) "
            f"LEFT JOIN {quote(Organisme._meta.db_table)} o ON o.id = c.organisme_id "
            "WHERE u.id = %s ORDER BY o.nom, c.organisme_id, c.date_debut, c.id"
        )


_built = PerDatabase(_Statements)


def read_session(session_key: str) -> Session | None:
    """The session row of this key if it has not expired, as Django's database store reads it."""
    statements = _built()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(statements.session_sql, [session_key, now])
        row = cursor.fetchone()
    return None if row is None else statements.session.instance(row)


def read_user(user_id, today: datetime.date | None = None) -> User | None:
    """The user (its structure attached, as select_related would) and its structure's
    conventions en cours or à venir on `today`, their organismes attached, kept on the user for
    its request (organisme_choices_of). None if there is no such user."""
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    today = today or timezone.localdate()
    statements = _built()
    with connection.cursor() as cursor:
        cursor.execute(statements.user_sql, [connection.ops.adapt_datefield_value(today), pk])
        rows = cursor.fetchall()
    if not rows:
        return None
    widths = [len(statements.user), len(statements.structure), len(statements.convention)]
    user_end = widths[0]
    structure_end = user_end + widths[1]
    convention_end = structure_end + widths[2]
    user = statements.user.instance(rows[0][:user_end])
    structure = statements.structure.instance(rows[0][user_end:structure_end])
    User._meta.get_field("structure").set_cached_value(user, structure)
    conventions = []
    for row in rows:
        convention = statements.convention.instance(row[structure_end:convention_end])
        if convention is None:
            continue  # the structure has none (or the user none: an agent)
        organisme = statements.organisme.instance(row[convention_end:])
        Convention._meta.get_field("organisme").set_cached_value(convention, organisme)
        Convention._meta.get_field("structure").set_cached_value(convention, structure)
        conventions.append(convention)
    setattr(user, CONVENTIONS_ATTRIBUTE, Read(today, conventions))
    return user


def organisme_choices_of(user: User) -> list[OrganismeChoice]:
    """The organismes the partner may work with now: from the conventions read with the user in
    this request, else (a user not read by the chain) by the ORM."""
    read = getattr(user, CONVENTIONS_ATTRIBUTE, None)
    if read is None:
        return organisme_choices(user.structure)
    return choices_from(read.conventions, read.today)
