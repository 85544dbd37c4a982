"""Load test: gunicorn (2 workers) on the national data, wrk replaying logged-in portal requests.

    DATABASE_URL=postgres://…/espace_partenaires_bench_scale python -m bench.load [--duration 60]

Run after `python -m bench.seed`. The script makes sessions for a few hundred seeded partners
and agents (bench/sessions.py: in the session store, no password checked, so django-axes is not
involved), writes the mix of requests below into a Lua script for wrk, starts gunicorn on
127.0.0.1 with production settings (DEBUG off, no HTTPS redirect, persistent connections),
runs wrk for --duration seconds, then each of the three floors (bench/floors.py: a trivial view
without middleware, the same behind every middleware for a logged-in technicien, a small page
on base.html) for --floor-duration seconds on the same gunicorn, stops gunicorn and prints
requests per second, p50/p95/p99, the errors (non-2xx answers and socket errors) and the
processor time per request spent in Django (gunicorn's processes) and in PostgreSQL (its
processes), read from the kernel (bench/cpu.py). Everything stops by itself. wrk comes from
Debian (`apt-get install wrk`): written in C, it leaves the two cores to gunicorn and
PostgreSQL, which a Python load generator would not.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRODUCTION = {
    # The production settings with the floors' URLconf (bench/settings.py, bench/wsgi.py).
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "false",
    "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + "x" * 50),
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "HTTPS": "false",
    "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "600"),
    "LOG_LEVEL": "WARNING",
}
os.environ.update(PRODUCTION)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.selection import organisme_choices  # noqa: E402
from bench import floors  # noqa: E402
from bench.cpu import cpu_by_pid, postgres_backends, processes, used_since  # noqa: E402
from bench.doc import write_doc  # noqa: E402
from bench.sessions import session_for, usable_partners  # noqa: E402
from demandes import catalogue  # noqa: E402
from demandes.models import Demande  # noqa: E402

# The mix: what a partner does most is look at the history and at a demande.
MIX = (
    ("history", 30),
    ("history_page", 10),
    ("search", 10),
    ("filters", 5),
    ("detail", 25),
    ("create", 10),
    ("accounts", 5),
    ("admin", 5),
)
WRK_SCRIPT = """
local entries = %(entries)s
local counter = 0
local threads = {}
function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  n = offset
  not_ok = 0
end
function response(status, headers, body)
  -- wrk counts only 4xx/5xx as errors: a redirect (to the log-in page…) is one here too.
  if status ~= 200 then not_ok = not_ok + 1 end
end
function request()
  n = n + 1
  local entry = entries[(n %% #entries) + 1]
  return wrk.format("GET", entry[1], {["Cookie"] = "sessionid=" .. entry[2]})
end
function done(summary, latency, requests)
  local errors = summary.errors
  local not_ok = 0
  for _, thread in ipairs(threads) do not_ok = not_ok + thread:get("not_ok") end
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p50\\": %%.2f, \\"p95\\": %%.2f, "
    .. "\\"p99\\": %%.2f, \\"max\\": %%.2f, \\"status_errors\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, not_ok,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def entries(users: int, rng: random.Random) -> list[tuple[str, str]]:
    """(path, session key) of a few thousand requests in the proportions of MIX."""
    history = reverse("demandes:list")
    partners = usable_partners().select_related("structure").order_by("?")
    techniciens = list(partners[:users])
    gestionnaires = list(
        usable_partners(Role.GESTIONNAIRE).select_related("structure").order_by("?")[: users // 4]
    )
    agents = list(User.objects.filter(role=Role.AGENT).order_by("pk")[:20])
    # Partners whose structure still has an organisme to work with (not those whose only
    # convention ended yesterday), each with the first of them selected, as after log-in.
    organisme_of = {}
    for user in techniciens + gestionnaires:
        choices = organisme_choices(user.structure)
        if choices:
            organisme_of[user.pk] = choices[0].organisme.pk
    techniciens = [t for t in techniciens if t.pk in organisme_of]
    gestionnaires = [g for g in gestionnaires if g.pk in organisme_of]
    sessions = {user.pk: session_for(user, organisme_of.get(user.pk)) for user in techniciens}
    sessions |= {user.pk: session_for(user, organisme_of.get(user.pk)) for user in gestionnaires}
    sessions |= {user.pk: session_for(user) for user in agents}
    detail_of = {
        user.pk: list(
            Demande.objects.filter(
                structure_id=user.structure_id, organisme_id=organisme_of[user.pk]
            )
            .order_by("-pk")
            .values_list("pk", flat=True)[:20]
        )
        for user in techniciens
    }
    techniciens = [t for t in techniciens if detail_of[t.pk]]
    kinds, weights = zip(*MIX, strict=True)
    result = []
    for _ in range(5000):
        kind = rng.choices(kinds, weights)[0]
        user = rng.choice(techniciens)
        if kind == "history":
            path = history
        elif kind == "history_page":
            path = f"{history}?page={rng.randint(2, 5)}"
        elif kind == "search":
            path = f"{history}?q={rng.choice(['BER', 'MONLE', 'DUCHA', 'EP-2026'])}"
        elif kind == "filters":
            path = f"{history}?statut=cloturee&offre={catalogue.DOCUMENT}"
        elif kind == "detail":
            path = reverse("demandes:detail", args=[rng.choice(detail_of[user.pk])])
        elif kind == "create":
            path = reverse("demandes:create", args=[catalogue.ETUDE_DOSSIER])
        elif kind == "accounts":
            user = rng.choice(gestionnaires)
            path = reverse("accounts:techniciens")
        else:
            user = rng.choice(agents)
            path = reverse("admin:demandes_demande_changelist")
        result.append((path, sessions[user.pk]))
    return result


def lua_table(requests: list[tuple[str, str]]) -> str:
    rows = (json.dumps(list(entry)).replace("[", "{").replace("]", "}") for entry in requests)
    return "{" + ",".join(rows) + "}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_and_postgres(gunicorn_pid: int) -> tuple[set[int], set[int]]:
    """gunicorn's master and workers; the PostgreSQL backends of their connections (persistent:
    opened during the warm-up)."""
    found = processes()
    django = {gunicorn_pid} | {pid for pid, (parent, _) in found.items() if parent == gunicorn_pid}
    try:
        return django, postgres_backends(connection)
    finally:
        connection.close()


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def script_of(requests: list[tuple[str, str]]) -> str:
    """A wrk script replaying these requests, in a temporary file (removed by the caller)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"entries": lua_table(requests)})
    return script.name


def run_wrk(port: int, script: str, duration: int, connections: int, gunicorn_pid: int) -> dict:
    """wrk's figures for this script, with the processor time per request of Django and of
    PostgreSQL (ms) over the run, and the rate."""
    django, postgres = django_and_postgres(gunicorn_pid)
    cpu_before = cpu_by_pid(django), cpu_by_pid(postgres)
    output = subprocess.run(  # noqa: S603
        [  # noqa: S607
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout=10s",
            "-s",
            script,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    cpu = used_since(cpu_before[0]), used_since(cpu_before[1])
    figures = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    figures["rate"] = figures["requests"] / figures["seconds"]
    figures["errors"] = figures["status_errors"] + figures["socket_errors"]
    figures["django_ms"], figures["postgres_ms"] = (
        seconds / max(1, figures["requests"]) * 1000 for seconds in cpu
    )
    return figures


FLOORS = (
    (floors.FLOOR_BARE, "plancher : vue triviale, sans middleware"),
    (floors.FLOOR_MIDDLEWARE, "plancher : vue triviale, tous les middlewares (technicien)"),
    (floors.FLOOR_TEMPLATE, "plancher : petit gabarit sur base.html (technicien)"),
)


def row(label: str, f: dict) -> str:
    return (
        f"| {label} | {f['rate']:.0f} | {f['p50']:.1f} | {f['p95']:.1f} | {f['p99']:.1f} "
        f"| {f['max']:.1f} | {f['requests']} | {f['errors']} | {f['django_ms']:.1f} "
        f"| {f['postgres_ms']:.1f} | {f['django_ms'] + f['postgres_ms']:.1f} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--floor-duration", type=int, default=10, help="seconds for each floor")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--users", type=int, default=400, help="techniciens logged in")
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    parser.add_argument("--block", default="bench-load")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("Refused: the load test runs on PostgreSQL (DATABASE_URL=postgres://…).")
        return 2
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk")
        return 2

    requests = entries(args.users, random.Random(2026))  # noqa: S311 (a mix, not secrets)
    # The floors with the sessions of the mix's techniciens (an organisme selected).
    technicien_sessions = [
        session for path, session in requests if path == reverse("demandes:list")
    ]
    scripts = {"mix": script_of(requests)} | {
        path: script_of([(path, session) for session in technicien_sessions[:200]])
        for path, _label in FLOORS
    }
    connection.close()
    port = free_port()
    gunicorn = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench.wsgi:application",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION},
    )
    try:
        wait_until_up(port)
        # A short warm-up, not counted: each worker loads its templates and connects.
        for script in scripts.values():
            subprocess.run(  # noqa: S603
                ["wrk", "-t1", "-c2", "-d2s", "-s", script, f"http://127.0.0.1:{port}"],  # noqa: S607
                capture_output=True,
                check=True,
                timeout=30,
            )
        started = timezone.localtime()
        mix = run_wrk(port, scripts["mix"], args.duration, args.connections, gunicorn.pid)
        measured = {
            path: run_wrk(port, scripts[path], args.floor_duration, args.connections, gunicorn.pid)
            for path, _label in FLOORS
        }
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
        for script in scripts.values():
            Path(script).unlink()
    header = [
        "| Charge | Requêtes/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | Requêtes | Erreurs "
        "| Processeur Django (ms/requête) | Processeur PostgreSQL (ms/requête) | Total (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines = [
        *header,
        row("mélange", mix),
        *(row(label, measured[path]) for path, label in FLOORS),
    ]
    template = measured[floors.FLOOR_TEMPLATE]
    ratio = (mix["django_ms"] + mix["postgres_ms"]) / (
        template["django_ms"] + template["postgres_ms"]
    )
    print("\n".join(lines))
    print(f"mix / small-template floor (processor per request): {ratio:.2f}")
    errors = mix["errors"] + sum(f["errors"] for f in measured.values())
    if args.write_doc:
        write_doc(
            args.block,
            [
                f"Mesuré le {started:%d/%m/%Y à %H:%M} : gunicorn 2 workers (sync), wrk 1 thread, "
                f"{args.connections} connexions, mélange {args.duration} s puis chaque plancher "
                f"{args.floor_duration} s sur le même gunicorn, {args.users} techniciens "
                f"connectés (+ gestionnaires et agents), mélange : "
                + ", ".join(f"{kind} {weight} %" for kind, weight in MIX)
                + ".",
                "",
                *lines,
                "",
                f"Processeur par requête du mélange / plancher « petit gabarit » : {ratio:.2f}.",
            ],
        )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
