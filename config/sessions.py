"""Django's database sessions, read with one hand-written query.

Every page a returning learner opens reads their session; building that SELECT with the
ORM cost about ten times running it. Writes, expiry and everything else are Django's own.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        expire_date = model._meta.get_field("expire_date").get_db_prep_value(timezone.now(), connection)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT session_data FROM "{model._meta.db_table}" WHERE session_key = %s AND expire_date > %s',
                           [self.session_key, expire_date])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's: an unknown or expired key starts a new session
            return None
        return model(session_key=self.session_key, session_data=row[0])
