"""The repository explains itself: no file cites anything outside it, every `docs/*.md` a file
names exists, and every case module names its section of the catalogue."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\.\./shared|/work/shared|reference/ocpp16-test-catalog|instruments\.md §"
                     r"|catalogue §")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True, timeout=30).stdout.split()
    out = []
    for name in names:
        path = REPO / name
        try:
            path.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        out.append(path)
    return out


def test_no_file_cites_anything_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in tracked_text_files()
            if p != this for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert not hits, "\n".join(hits)


def test_every_doc_a_file_names_exists() -> None:
    named = {m for p in tracked_text_files()
             for m in re.findall(r"docs/[A-Za-z0-9_-]+\.md", p.read_text("utf-8"))}
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert named and not missing, missing


def test_every_case_names_its_catalogue_entry() -> None:
    catalogue = (REPO / "docs" / "catalogue.md").read_text("utf-8")
    cases = sorted((REPO / "testplans").rglob("test_*.py"))
    assert cases
    for path in cases:
        source = path.read_text("utf-8")
        case_id = re.search(r'octt\(\s*"([A-Z0-9_]+)"', source)
        assert case_id, path
        short = case_id.group(1).removesuffix("_CS")
        assert re.search(rf"\b{re.escape(short)}", catalogue), f"{short} not in the catalogue"
        if path.parent.name == "core":
            assert "docs/catalogue.md" in source.split('"""')[1], f"{path.name}: docstring"
