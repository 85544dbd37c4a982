# Espace Partenaires — the two commands of the README, and a few helpers.
#   make run    set up and start the portal on embedded defaults (SQLite, local Celery broker);
#               PORT=8101 make run serves on another port (e-mail links follow, unless SITE_URL is set)
#   make test   set up and run the whole test suite (lint, layers, migrations check, pytest)
#   make screenshots  regenerate the manual's and README's screenshots (static/aide/, Chromium)
#   make bench  the benchmarks at national scale, on PostgreSQL (docs/performance.md)
#   make backup / make restore ARCHIVE=…   the database and the attachments (docs/operations.md)

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# The port of `make run`; the settings derive SITE_URL (the links of e-mails) from it.
PORT ?= 8000

# The first interpreter that is Python 3.12 or newer (Django 6.1 needs it). With pyenv, the
# .python-version file makes `python3` resolve to 3.12.
PYTHON ?= $(shell for candidate in python3.14 python3.13 python3.12 python3; do \
	if $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
		echo $$candidate; break; fi; done)

.PHONY: run test screenshots bench lint format check-deploy clean backup restore

$(BIN)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python 3.12 ou plus récent est nécessaire (Django 6.1) et n'a pas été trouvé :"; \
		echo "installez python3.12 ou python3.13, ou indiquez-le : make PYTHON=/chemin/vers/python3.12"; \
		exit 1; fi
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "L'environnement $(VENV) utilise un Python trop ancien : il est recréé."; rm -rf $(VENV); fi
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	@touch $@

run: export DEBUG := true
run: export PORT := $(PORT)
run: $(BIN)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "Espace Partenaires : http://127.0.0.1:$(PORT)/  (admin : http://127.0.0.1:$(PORT)/admin/)"
	@echo "E-mails : affichés ici et enregistrés dans var/emails/. Ctrl-C arrête tout."
	@trap 'stopping=1' INT TERM; \
	$(BIN)/celery -A espace_partenaires worker --beat --loglevel=INFO --concurrency=1 & worker=$$!; \
	$(MANAGE) runserver --noreload 127.0.0.1:$(PORT) & web=$$!; \
	wait -n; status=$$?; kill $$worker $$web 2>/dev/null; wait; \
	if [ -n "$$stopping" ]; then echo "Espace Partenaires arrêté."; else exit $$status; fi

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	DEBUG=true $(MANAGE) makemigrations --check --dry-run  # a development command: no key needed
	$(BIN)/pytest

# The screenshots of the user manual (jinja2/aide/) and of the README, taken by a browser
# test from the demo data: rerun after a change of the screens, and commit static/aide/.
# Taken into a fresh folder, which replaces static/aide/ only when every screenshot was taken:
# a failed run leaves the committed ones, and one no longer taken does not linger.
screenshots: $(BIN)/.installed
	@[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || { \
		echo "Les copies d'écran demandent Chromium : apt-get install chromium (ou CHROMIUM=…)"; \
		exit 1; }
	rm -rf var/screenshots
	SCREENSHOTS_DIR=var/screenshots $(BIN)/pytest tests/browser/test_screenshots.py -q -p no:cacheprovider
	rm -rf static/aide && mv var/screenshots static/aide
	@du -ch static/aide/*.png | tail -1

# Not part of `make test` nor of CI: minutes of work on a database that is emptied first.
bench: $(BIN)/.installed
	@case "$$DATABASE_URL" in \
	postgres*://*bench*) ;; \
	*) echo "make bench mesure sur PostgreSQL : indiquez une base dont le nom contient « bench »,"; \
	   echo "elle est vidée, p. ex. DATABASE_URL=postgres://…/espace_partenaires_bench make bench"; \
	   exit 1;; \
	esac
	@command -v wrk >/dev/null || { echo "Le test de charge utilise wrk : apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.seed --write-doc
	$(BIN)/python -m bench.pages --write-doc
	$(BIN)/python -m bench.load --write-doc
	$(BIN)/python -m bench.jobs --national --write-doc
	@echo "Résultats écrits dans docs/performance.md."

# One archive of the database and the attachments in BACKUP_DIR (default var/backups), and the
# restore of one (it asks for confirmation); docs/operations.md.
backup: $(BIN)/.installed
	$(MANAGE) backup

restore: $(BIN)/.installed
	@if [ -z "$(ARCHIVE)" ]; then \
		echo "Indiquez l'archive : make restore ARCHIVE=var/backups/espace-partenaires-AAAAMMJJ-HHMMSS.tar"; \
		exit 1; fi
	$(MANAGE) restore "$(ARCHIVE)"

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production-like environment: `check --deploy` must print no warning.
# Only what an operator must set (SPEC §9): every other default is the safe one.
check-deploy: $(BIN)/.installed
	DEBUG=false ALLOWED_HOSTS=espace-partenaires.example CACHE_URL=redis://redis:6379/1 \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(MANAGE) check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var build *.egg-info
