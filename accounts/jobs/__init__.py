"""Scheduled jobs on accounts (SPEC §6, §10), one module per concern: the end of conventions and
the warning 30 days before it (conventions), the purges (purges), the password-expiry reminder
(reminders), the request for the habilitation reviews (reviews), the warning and inactivation of
unused accounts (dormant). Tasks and commands reach them as every app's: `from accounts import
jobs`, then `jobs.<job>()`.

Each job works in batches of rows locked with SKIP LOCKED, so that two runs at once share the
work instead of doing it twice, with a number of queries per batch that does not grow with the
number of accounts; each is idempotent (what it did is written on the rows it did it to). Access
never depends on them: the conventions' dates are checked on every request.
"""

from .conventions import end_conventions, warn_convention_ends
from .dormant import inactivate_dormant_accounts, warn_dormant_accounts
from .purges import purge_expired_invitations, purge_expired_sessions, purge_inactive_accounts
from .reminders import remind_password_expiry
from .reviews import request_habilitation_reviews

__all__ = [
    "end_conventions",
    "inactivate_dormant_accounts",
    "purge_expired_invitations",
    "purge_expired_sessions",
    "purge_inactive_accounts",
    "remind_password_expiry",
    "request_habilitation_reviews",
    "warn_convention_ends",
    "warn_dormant_accounts",
]
