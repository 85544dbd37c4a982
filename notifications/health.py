"""The health check of what notifications need beyond the database: the Celery broker.

Used by /healthz (espace_partenaires/urls.py), through django-health-check.
"""

import dataclasses
import datetime
import os

from celery import current_app
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection: Redis in production (a connection and a PING),
    kombu's filesystem transport in the embedded default (whose "connection" touches no file:
    its message folders must be there and writable).

    The broker is the one of the Celery app (CELERY_BROKER_URL and its transport options), with
    short timeouts of its own: a silent Redis fails the check within `timeout`. The answer never
    names the broker (its URL may hold a password); the log has the error.
    """

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=2), repr=False
    )

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        # The project's app in any thread: Celery's Django fix-up makes it the default app.
        connection = current_app.connection_for_write(
            transport_options={"socket_timeout": seconds, "socket_connect_timeout": seconds},
        )
        try:
            with connection:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=seconds)
                if connection.transport.driver_type == "filesystem":
                    _check_folders(connection.transport_options)
        except Exception as error:
            raise ServiceUnavailable("the broker does not answer") from error


def _check_folders(options: dict) -> None:
    for option, default in (("data_folder_in", "data_in"), ("data_folder_out", "data_out")):
        folder = options.get(option, default)
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
            raise OSError(f"{option} is not a writable folder")
