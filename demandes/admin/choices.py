"""The choices of two filters of the work queue, read by hand-written SQL (issue 20, item 3).

The structures the organisme works with (StructureFilter) and its active agents
(AttributionFilter) are read at every display of the list. Through the ORM, building and
compiling those two querysets, and an instance per agent for its name, cost 1.4 ms of the
page's processor; the same two statements written here cost 0.15 ms.

Who is in them is still decided as conventions.scoping.structures_in_scope and
demandes.admin.queue.agents_in_scope decide it, in the same order; those stay the reference
for every other use, and tests/demandes/test_admin_choices.py compares both readings on every
kind of person (agent, inactive agent, superuser, partner) and of structure and agent. The
choices only offer values: the list itself is scoped by DemandeAdmin's queryset.
"""

from django.db import connection

from accounts.models import Role, User
from conventions.models import Convention
from core.rows import PerDatabase
from organismes.models import StructurePartenaire


class _Statements:
    """The statements, from the models' own table and column names (no input ever goes into
    the SQL text, only into its parameters)."""

    def __init__(self):
        quote = connection.ops.quote_name
        structures = quote(StructurePartenaire._meta.db_table)
        conventions = quote(Convention._meta.db_table)
        users = quote(User._meta.db_table)
        order = "s.nom, s.id"
        # conventions.scoping.structures_of: a convention (past, current or to come) with it.
        self.structures_of = (
            f"SELECT s.id, s.nom FROM {structures} s "  # noqa: S608
            f"WHERE s.id IN (SELECT c.structure_id FROM {conventions} c "
            f"WHERE c.organisme_id = %s) ORDER BY {order}"
        )
        self.all_structures = f"SELECT s.id, s.nom FROM {structures} s ORDER BY {order}"  # noqa: S608
        # User.objects.agents().active(), of the organisme, in_list_order() (all active).
        self.agents_of = (
            f"SELECT u.id, u.prenom, u.nom_usuel, u.nom_patronymique FROM {users} u "  # noqa: S608
            "WHERE u.role = %s AND u.is_active AND u.organisme_id = %s "
            "ORDER BY COALESCE(NULLIF(u.nom_usuel, ''), u.nom_patronymique), u.prenom, u.id"
        )


_built = PerDatabase(_Statements)


def _read(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def structure_choices(user) -> list[tuple[int, str]]:
    """structures_in_scope(user).order_by("nom", "pk").values_list("pk", "nom")."""
    if user.is_superuser:
        return _read(_built().all_structures, [])
    if user.is_agent and user.is_active:
        return _read(_built().structures_of, [user.organisme_id])
    return []


def agent_choices(user) -> list[tuple[str, str]]:
    """[(str(agent.pk), agent.get_full_name()) for agent in agents_in_scope(user)], for an
    agent (a superuser's filter lists no one: every agent of the country would be no filter)."""
    if user.is_superuser or not (user.is_agent and user.is_active):
        return []
    rows = _read(_built().agents_of, [Role.AGENT.value, user.organisme_id])
    # User.get_full_name: the prénom and the nom (usuel, else patronymique).
    return [
        (str(pk), f"{prenom} {nom_usuel or nom_patronymique}")
        for pk, prenom, nom_usuel, nom_patronymique in rows
    ]
