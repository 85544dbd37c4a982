"""gunicorn's settings for the image (Dockerfile's CMD); the command line may add to them.

The access log writes the path and never the query string nor the referer: the history's search
(`?q=`) is free text typed by a person, and a NIR typed there would reach the log before the
form refuses it (no NIR and no secret in logs). Nor the user agent: it adds nothing an
operator needs and fingerprints the person.
"""

bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"
# remote address, time, method, path (without the query string), protocol, status, size,
# duration in microseconds.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)s'
