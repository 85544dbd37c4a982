FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install .
COPY . .
RUN DEBUG=false STATIC_MANIFEST=true SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var/celery /app/var/media \
    && useradd --create-home --uid 1000 portail && chown -R portail /app/var
USER portail

EXPOSE 8000
# Its settings, the access log without query strings among them: deploy/gunicorn.conf.py.
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "espace_partenaires.wsgi:application"]
