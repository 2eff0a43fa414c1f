"""reports/ only reads run directories: no module of it can write a record.

The record generators of the tests and benchmarks live in tests/support/; a report module
that imported the record writer would be a renderer that can change what it renders.
"""

from __future__ import annotations

import ast
from pathlib import Path

import reports

WRITERS = {"bench.record.writer", "unittest", "unittest.mock"}
WRITER_NAMES = {"RunRecord", "FrameRecord", "VerdictRecord", "writer"}


def imports_of(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of every import in the file; name "" for `import module`."""
    out: list[tuple[int, str, str]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out += [(node.lineno, node.module or "", a.name) for a in node.names]
    return out


def test_no_report_module_imports_the_record_writer():
    package = Path(reports.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 10  # the package itself, not an empty folder
    found = [f"{p.relative_to(package.parent)}:{line}: {mod} {name}".strip()
             for p in modules for line, mod, name in imports_of(p)
             if mod in WRITERS or (mod.startswith("bench.record") and name in WRITER_NAMES)]
    assert found == []


def test_the_guard_sees_a_writer_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from bench.record import RunRecord\nimport unittest.mock\n")
    assert imports_of(probe) == [(1, "bench.record", "RunRecord"), (2, "unittest.mock", "")]
