"""docs/performance.md: each benchmark rewrites its own marked block, nothing else."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"


def write_doc(block: str, lines: list[str]) -> None:
    """Replace what stands between <!-- block:begin --> and <!-- block:end --> by `lines`."""
    begin, end = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
    text = DOC.read_text()
    if begin not in text:
        raise SystemExit(f"{DOC}: no {begin} … {end} block to replace.")
    start, stop = text.index(begin), text.index(end) + len(end)
    DOC.write_text(text[:start] + "\n".join([begin, *lines, end]) + text[stop:])
    print(f"{DOC.relative_to(ROOT)} updated ({block}).")
