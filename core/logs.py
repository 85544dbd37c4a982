"""The portal's log lines (issue 21, item 4; docs/operations.md, "Logs").

- LOG_FORMAT=json: one JSON object a line, with the same keys on every line (time, level, logger,
  message, request_id, user_id; method, path, status and duration_ms on a request's completion
  line; exc_info on an error). text: the same information on one readable line (development).
- A request id, per request (`RequestIdMiddleware`): the incoming X-Request-ID when it is
  well-formed, a new one otherwise; returned in the response's X-Request-ID; on every log line
  written during the request; and handed to the Celery tasks the request schedules, in a header
  of their message (`before_task_publish`), whose lines carry it too (`task_prerun`). An outbox row
  keeps the id of the request that wrote it, which the sweeper gives its later publishes.
- No personal data: the code logs ids, never names, texts, e-mail bodies or addresses; the
  formatter writes only the keys above (never a record's extras: Django's carry the request with
  its query string, Celery's the task's arguments); and, as a last line of defence, a filter
  masks what looks like a NIR (core.nir's detector) or an e-mail address in a message or a
  traceback, and marks the line "redacted".

Everything here is the standard library's logging and core.nir: gunicorn's master process, which
has no Django, formats its own lines with the same classes (deploy/gunicorn.conf.py).
"""

import contextvars
import datetime
import json
import logging
import re
import time
import uuid
from typing import Any

from core.nir import contains_nir

REQUEST_ID_HEADER = "X-Request-ID"
# Celery message headers of a task scheduled during a request (or by a task, or by the sweeper).
TASK_REQUEST_ID = "log_request_id"
TASK_USER_ID = "log_user_id"
REQUEST_LOGGER = "espace_partenaires.requests"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("request", default=None)

# An incoming id is kept if it is short and plain (no space, quote or control character to
# forge a line with) and holds no NIR; a proxy's UUID or hex id is.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")


def new_request_id() -> str:
    """A random 32-hex id, drawn again in the rare case (about 1 in 500) where its digits look
    like a NIR: the id is written in every log line, which must hold none, and an incoming id of
    that shape is refused (well_formed_request_id)."""
    while contains_nir(request_id := uuid.uuid4().hex):
        pass
    return request_id


def well_formed_request_id(value: str | None) -> str | None:
    if value and _WELL_FORMED.fullmatch(value) and not contains_nir(value):
        return value
    return None


def current_request_id() -> str | None:
    return _request_id.get()


def current_user_id() -> int | None:
    """The user of the current request, once the request has looked it up (never a query of its
    own: a log line must not hit the database); or the user a task was scheduled by."""
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)
        wrapped = getattr(user, "_wrapped", user)  # a lazy user not evaluated yet: unknown
        if wrapped is not None and getattr(wrapped, "is_authenticated", False) is True:
            return wrapped.pk
        return None
    return _user_id.get()


class RequestContext:
    """`with RequestContext(request_id, request=…, user_id=…):` the lines written inside carry
    them."""

    def __init__(self, request_id: str | None, *, request=None, user_id: int | None = None):
        self.values = (request_id, request, user_id)

    def __enter__(self):
        request_id, request, user_id = self.values
        self.tokens = (_request_id.set(request_id), _request.set(request), _user_id.set(user_id))
        return self

    def __exit__(self, *exc_info):
        for var, token in zip((_request_id, _request, _user_id), self.tokens, strict=True):
            var.reset(token)


# --- The request's id and its completion line -----------------------------------------------

# URL arguments that are secrets (an invitation's or a password reset's link): masked in the
# path of a log line.
SECRET_URL_ARGUMENTS = frozenset({"token", "uidb64"})


def masked_path(path: str) -> str:
    """The path with the secrets of its URL arguments masked (the query string is never
    logged)."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return path
    except Exception:  # the URLconf not loaded (gunicorn's master): no portal path there
        return path
    for name in SECRET_URL_ARGUMENTS & set(match.kwargs):
        value = str(match.kwargs[name])
        if value:
            path = path.replace(value, "…")
    return path


class RequestIdMiddleware:
    """First of the middleware: the whole request, redirects and refusals included, has its id
    and its completion line (method, path without the query string, status, duration)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.logger = logging.getLogger(REQUEST_LOGGER)

    def __call__(self, request):
        request_id = well_formed_request_id(request.headers.get(REQUEST_ID_HEADER))
        request_id = request_id or new_request_id()
        request.request_id = request_id
        start = time.perf_counter()
        with RequestContext(request_id, request=request):
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            path = masked_path(request.path)
            self.logger.info(
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )
        return response


# --- Celery: the id travels in the message's headers ----------------------------------------


def on_before_task_publish(headers: dict | None = None, **kwargs) -> None:
    """A task published during a request (or a task) carries its id and user; an id given
    explicitly (the sweeper's, from the outbox row) is kept."""
    if headers is None:
        return
    if not headers.get(TASK_REQUEST_ID) and (request_id := current_request_id()):
        headers[TASK_REQUEST_ID] = request_id
    if not headers.get(TASK_USER_ID) and (user_id := current_user_id()):
        headers[TASK_USER_ID] = user_id


_task_contexts: dict[str, RequestContext] = {}


def _header(task, name: str):
    request = task.request
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


def on_task_prerun(task_id: str | None = None, task=None, **kwargs) -> None:
    """The task's lines carry the id of the request that scheduled it; a task of the beat
    schedule, its own id. Eager, inside a request: the request's."""
    request_id = _header(task, TASK_REQUEST_ID) or current_request_id() or task_id
    user_id = _header(task, TASK_USER_ID) or current_user_id()
    context = RequestContext(request_id, user_id=user_id)
    context.__enter__()
    if task_id:
        _task_contexts[task_id] = context


def on_task_postrun(task_id: str | None = None, **kwargs) -> None:
    context = _task_contexts.pop(task_id, None) if task_id else None
    if context is not None:
        context.__exit__(None, None, None)


# --- Filters ----------------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Puts the request id and the user id on every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id()
        return True


# Ids that are not personal and whose digits could look like a NIR by chance: UUIDs (Celery's
# task ids), 32-hex request ids.
_IDS = re.compile(
    r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.IGNORECASE
)
_EMAIL_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
REDACTED = "[masqué]"


def looks_personal(text: str) -> bool:
    """A NIR (in any spelling core.nir knows) or an e-mail address in `text`."""
    return bool(_EMAIL_ADDRESS.search(text)) or contains_nir(_IDS.sub(" ", text))


def redact(text: str) -> str:
    text = _EMAIL_ADDRESS.sub(REDACTED, text)
    if contains_nir(_IDS.sub(" ", text)):
        text = re.sub(r"\d", "#", text)  # every digit: the NIR's, whatever its spelling
    return text


class RedactFilter(logging.Filter):
    """The last line of defence: a message or traceback holding what looks like a NIR or an
    e-mail address is written masked, and the line says "redacted": true (the code logs ids
    only; tests/test_log_scan.py checks that a whole journey writes no such line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a wrong format string: logging reports it itself
            return True
        # django.request's "Not Found: /invitation/<token>/": the path's secrets masked.
        path = getattr(getattr(record, "request", None), "path", None)
        if isinstance(path, str) and path in message and (masked := masked_path(path)) != path:
            message = message.replace(path, masked)
            record.msg, record.args = message, None
        if looks_personal(message):
            record.msg, record.args = redact(message), None
            record.redacted = True
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            if looks_personal(text):
                record.exc_info, record.exc_text = None, redact(text)
                record.redacted = True
        return True


# --- Formatters -------------------------------------------------------------------------------

REQUEST_FIELDS = ("method", "path", "status", "duration_ms")


def iso_time(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with a fixed set of keys: a record's other attributes (Django's
    `request`, Celery's `data`) are never written."""

    fields: tuple[str, ...] = REQUEST_FIELDS

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": iso_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for name in self.fields:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        if getattr(record, "redacted", False):
            line["redacted"] = True
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development line: time, level, logger, request id and user, message."""

    def __init__(self):
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user_id)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or "-"
        record.user_id = getattr(record, "user_id", None) or "-"
        return super().format(record)


class GunicornAccessJsonFormatter(JsonFormatter):
    """gunicorn's access line as JSON: its atoms (glogging.Logger.atoms) are the record's args.
    The path without the query string nor the referer nor the user agent (deploy/gunicorn.conf.py);
    the request id is the one the portal answered with."""

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, dict) else {}
        record.request_id = atoms.get("{x-request-id}o", "-")
        if record.request_id == "-":
            record.request_id = None
        record.method = atoms.get("m")
        record.path = masked_path(atoms.get("U") or "")
        record.status = int(atoms["s"]) if str(atoms.get("s", "")).isdigit() else atoms.get("s")
        record.duration_ms = round(atoms.get("D", 0) / 1000, 1)
        record.remote_addr = atoms.get("h")
        record.msg, record.args = f"{record.method} {record.path} {record.status}", None
        return super().format(record)

    fields = (*REQUEST_FIELDS, "remote_addr")


class GunicornAccessTextFormatter(logging.Formatter):
    """gunicorn's access line as text (access_log_format), with the secrets of the path masked."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, dict):
            record.args = {**record.args, "U": masked_path(record.args.get("U") or "")}
        return super().format(record)


# --- The configuration ----------------------------------------------------------------------

FORMATS = ("json", "text")


def default_format(*, debug: bool) -> str:
    """JSON lines in production (an ops team's collector reads them), text on a developer's
    machine."""
    return "text" if debug else "json"


def logging_config(log_format: str, level: str) -> dict:
    """Django's LOGGING (and the Celery worker's, espace_partenaires/celery.py): every line on
    stderr through the context and redaction filters, in the chosen format."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT={log_format!r}: expected json or text.")
    formatter = {"json": "core.logs.JsonFormatter", "text": "core.logs.TextFormatter"}[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "core.logs.ContextFilter"},
            "redact": {"()": "core.logs.RedactFilter"},
        },
        "formatters": {"portal": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "portal",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # SQL with its parameters (names, texts) at DEBUG, and only with DEBUG=true: never.
            "django.db.backends": {"level": "INFO"},
            # A variable a template does not find, at DEBUG, with the whole context: the request
            # (its query string), the forms and their values. Never written either.
            "django.template": {"level": "INFO"},
        },
    }
