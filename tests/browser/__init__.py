import os
from pathlib import Path

# Debian's Chromium (`apt-get install chromium`); CHROMIUM points elsewhere if needed.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def chromium_present() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)
