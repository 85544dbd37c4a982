"""Scheduled jobs on accounts (SPEC §6), one module per concern: the end of conventions and the
warning 30 days before it (conventions), the purges (purges), the password-expiry reminder
(reminders). Tasks and commands reach them as every app's: `from accounts import jobs`, then
`jobs.<job>()`.

Each job works in batches of rows locked with SKIP LOCKED, so that two runs at once share the
work instead of doing it twice, with a number of queries per batch that does not grow with the
number of accounts; each is idempotent (what it did is written on the rows it did it to). Access
never depends on them: the conventions' dates are checked on every request.
"""

from .conventions import end_conventions, warn_convention_ends
from .purges import purge_expired_invitations, purge_expired_sessions, purge_inactive_accounts
from .reminders import remind_password_expiry

__all__ = [
    "end_conventions",
    "purge_expired_invitations",
    "purge_expired_sessions",
    "purge_inactive_accounts",
    "remind_password_expiry",
    "warn_convention_ends",
]
