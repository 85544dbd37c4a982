FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# pg_dump and pg_restore for `manage.py backup` and `restore` (docker-compose.yml's backup
# service): Debian's client, of PostgreSQL 17 as the compose file's server (pg_dump must be of the
# server's major version or newer).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
RUN pip install .
COPY . .
RUN DEBUG=false STATIC_MANIFEST=true SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var/celery /app/var/media /app/var/backups \
    && useradd --create-home --uid 1000 portail && chown -R portail /app/var && chmod 0700 /app/var/backups
USER portail

EXPOSE 8000
# Its settings, the access log without query strings among them: deploy/gunicorn.conf.py.
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "espace_partenaires.wsgi:application"]
