"""The README and docs/ link only what a fresh clone holds (issue 19, set-up friction: the
README linked the spec at ../shared/SPEC.md, outside the repository)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), without the web addresses and the anchors of the page.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def local_targets(document: Path) -> list[str]:
    targets = LINK.findall(document.read_text(encoding="utf-8"))
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_local_link_leads_to_a_file_of_the_repository(document):
    for target in local_targets(document):
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{document.name}: {target} is outside the repository"
        assert path.exists(), f"{document.name}: {target} does not exist"


def test_the_readme_links_the_product_in_brief():
    assert "docs/spec.md" in local_targets(ROOT / "README.md")
