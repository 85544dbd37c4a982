"""The production settings, with the benchmarks' URLconf on top (bench/urls.py: the floors).

The floors (a trivial view, the same behind every middleware, a small page on base.html) exist
only here: nothing in espace_partenaires/ mounts them, so they are never reachable in
production (tests/bench/test_floors.py checks it).
"""

from espace_partenaires.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
