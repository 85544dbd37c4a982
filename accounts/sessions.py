"""Sessions in the database, whose idle timeout is extended at most once a minute.

The idle timeout (SESSION_COOKIE_AGE from the last request, SESSION_SAVE_EVERY_REQUEST) would
otherwise write the session row on every page: an UPDATE and a commit per request, for an
expiry that moves by a few seconds. Here an unchanged session is written again only when its
expiry is more than TOUCH_INTERVAL behind where the last request would put it, so a partner
idle for the timeout is still logged out within TOUCH_INTERVAL of it. A session whose content
changed (log-in, organisme chosen, message) is written at once, as before.

The row is read by hand-written SQL (accounts/login_chain.py: the first link of the login
chain), the same statement as Django's, without building a queryset on every request.
"""

import datetime

from django.contrib.sessions.backends import db

from . import login_chain

TOUCH_INTERVAL = datetime.timedelta(seconds=60)


class SessionStore(db.SessionStore):
    stored_expiry: datetime.datetime | None = None

    def _get_session_from_db(self):
        session = login_chain.read_session(self.session_key)
        if session is None:
            self._session_key = None  # as Django's store does: a new key if it is written
        self.stored_expiry = session.expire_date if session else None
        return session

    def save(self, must_create=False):
        if not (must_create or self.modified) and self.is_fresh():
            return
        super().save(must_create=must_create)
        self.stored_expiry = None

    def is_fresh(self) -> bool:
        """True when the stored expiry is within TOUCH_INTERVAL of a full idle timeout."""
        if self.stored_expiry is None:
            return False
        return self.get_expiry_date() - self.stored_expiry < TOUCH_INTERVAL
