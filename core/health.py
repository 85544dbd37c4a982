"""The view of /healthz: django-health-check's, answering within its checks' time budgets."""

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

from health_check.views import HealthCheckView as LibraryHealthCheckView


class HealthCheckView(LibraryHealthCheckView):
    """django-health-check's view, whose synchronous checks (database, storage, broker) do not
    hold the answer beyond their timeout.

    Under WSGI the async view runs in an event loop that asgiref closes with `asyncio.run`, which
    waits for the loop's default executor: a check stuck on a silent server (no connect timeout,
    a network partition) kept the answer, and the gunicorn worker, until the client library gave
    up, minutes later, although the check was reported timed out after its budget. These threads
    are left to finish on their own: the answer goes out when the budgets are spent.
    """

    def get_executor(self) -> contextlib.AbstractContextManager[Executor | None]:
        return _executor_not_waited_for()


@contextlib.contextmanager
def _executor_not_waited_for() -> Iterator[Executor]:
    executor = ThreadPoolExecutor(thread_name_prefix="healthz")
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
