"""`python -m bench.jobs` measures every job of the beat schedule, in beat's order."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from espace_partenaires.celery import DAILY_JOBS

ROOT = Path(__file__).resolve().parents[2]

# bench.jobs sets environment variables when it is imported: it is imported in its own process.
LIST_JOBS = """
import json
from bench.jobs import load_jobs
jobs, missing = load_jobs()
print(json.dumps({"jobs": [label for label, _ in jobs], "missing": missing}))
"""


def test_every_daily_job_is_measured_in_the_order_beat_runs_them():
    env = {**os.environ, "DEBUG": "true"}
    env.pop("DATABASE_URL", None)  # only imports: the embedded default serves
    out = subprocess.run(  # noqa: S603 (a fixed command)
        [sys.executable, "-c", LIST_JOBS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout.strip().splitlines()[-1])

    assert listed["missing"] == []
    by_time = sorted(DAILY_JOBS.values(), key=lambda entry: getattr(settings, entry[1]))
    assert listed["jobs"] == [task.rsplit(".", 1)[1] for task, _ in by_time]
