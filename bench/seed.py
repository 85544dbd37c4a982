"""Time `manage.py seed_scale` (the national volume) and write its steps to docs/performance.md.

    DATABASE_URL=postgres://…/espace_partenaires_bench_scale python -m bench.seed [--write-doc]

The database is EMPTIED first (its name must contain "bench"). Options after `--` go to
seed_scale, e.g. `python -m bench.seed -- --demandes 500000`.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_partenaires.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.doc import write_doc  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    parser.add_argument("seed_scale", nargs="*", help="options of seed_scale, after --")
    args = parser.parse_args(argv)

    call_command("migrate", verbosity=0)
    output = io.StringIO()
    started, at = time.perf_counter(), timezone.localtime()
    call_command("seed_scale", *args.seed_scale, stdout=output)
    elapsed = time.perf_counter() - started
    print(output.getvalue())
    print(f"seed_scale: {elapsed:.0f} s")
    if args.write_doc:
        # seed_scale prints "  <label, 24 columns> <seconds> s  <rows>" for each step.
        steps = [(line[2:26].strip(), line[26:].strip()) for line in output.getvalue().splitlines()]
        command = " ".join(["manage.py seed_scale", *args.seed_scale])
        lines = [
            f"Mesuré le {at:%d/%m/%Y à %H:%M} : `{command}` en **{elapsed:.0f} s** "
            f"({elapsed / 60:.1f} min), `flush` compris.",
            "",
            "| Étape | Durée et lignes |",
            "|---|---|",
            *(
                f"| {label} | {rest} |"
                for label, rest in steps
                if label and rest.split(" ")[1:2] == ["s"]
            ),
            "",
            output.getvalue().strip().splitlines()[-1],
        ]
        write_doc("bench-seed", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
