"""gunicorn's settings for the image (Dockerfile's CMD); the command line may add to them.

The access log writes the path and never the query string nor the referer: the history's search
(`?q=`) is free text typed by a person, and a NIR typed there would reach the log before the
form refuses it (no NIR and no secret in logs). Nor the user agent: it adds nothing an
operator needs and fingerprints the person. The secrets of a path (an invitation's link) are
masked (core.logs.masked_path).

LOG_FORMAT (as settings.py reads it: json by default unless DEBUG=true): json writes gunicorn's
own lines and its access lines as JSON objects, one a line, with the request id the portal
answered with (docs/operations.md, "Logs").
"""

import os

bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"
# remote address, time, method, path (without the query string), protocol, status, size,
# duration in microseconds.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)s'

_debug = os.environ.get("DEBUG", "false").lower() in ("1", "true", "yes", "on")
_json = os.environ.get("LOG_FORMAT", "text" if _debug else "json") == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "access": {"()": "core.logs.GunicornAccessJsonFormatter"}
        if _json
        else {"()": "core.logs.GunicornAccessTextFormatter"},
        "error": {"()": "core.logs.JsonFormatter"}
        if _json
        else {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"},
    },
    "filters": {"redact": {"()": "core.logs.RedactFilter"}},
    "handlers": {
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "access",
        },
        "error": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "error",
            "filters": ["redact"],
        },
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": ["error"]},
}
