"""Golden renders: what ``prodstack render <stack>`` writes for the repository's stacks, committed
under tests/golden/<stack>/ (without the marker file), so that every change to what the cluster
gets shows up in review as a diff.

``make golden`` (``python -m tests.support.golden``) renders them again, and writes the
repository's docs/runbooks/ with ``prodstack runbooks``; tests/test_golden.py fails, with a
summary of the differences, when either is stale.
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from prodstack.output import MARKER
from prodstack.render import render
from prodstack.runbooks import write as write_runbooks
from prodstack.synth import ResourceGraph, synthesize_stack
from tests.support.stacks import PROJECT, ROOT, STACKS

GOLDEN = ROOT / "tests" / "golden"
UPDATE = "make golden"
DIFF_LINES = 30  # of each changed file's diff
DIFFED_FILES = 8  # files shown with their diff; the others are named


def rendered(graph: ResourceGraph) -> dict[str, bytes]:
    """The files ``prodstack render`` writes for the graph, by path below ``OUT/<stack>/``."""
    with tempfile.TemporaryDirectory() as out:
        result = render(graph, Path(out))
        return read_tree(result.directory)


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` but the marker, by relative POSIX path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MARKER
    }


def differences(name: str, expected: Mapping[str, bytes], actual: Mapping[str, bytes]) -> str:
    """An empty string when equal; else a summary of what differs, for a reviewer."""
    added = sorted(set(actual) - set(expected))
    removed = sorted(set(expected) - set(actual))
    changed = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
    if not (added or removed or changed):
        return ""
    lines = [
        f"{name} is not what prodstack renders now: {len(changed)} changed, {len(added)} new, "
        f"{len(removed)} gone. If the change is meant, run `{UPDATE}` and commit the diff."
    ]
    lines += [f"  new:     {path}" for path in added]
    lines += [f"  gone:    {path}" for path in removed]
    for index, path in enumerate(changed):
        lines.append(f"  changed: {path}")
        if index < DIFFED_FILES:
            lines += _diff(expected[path], actual[path], path)
    return "\n".join(lines)


def _diff(before: bytes, after: bytes, path: str) -> list[str]:
    diff = list(
        difflib.unified_diff(
            before.decode(errors="replace").splitlines(),
            after.decode(errors="replace").splitlines(),
            f"golden/{path}",
            f"rendered/{path}",
            n=1,
            lineterm="",
        )
    )
    shown = [f"      {line}" for line in diff[:DIFF_LINES]]
    if len(diff) > DIFF_LINES:
        shown.append(f"      ... ({len(diff) - DIFF_LINES} more diff lines)")
    return shown


def write_golden(stack: str, files: Mapping[str, bytes]) -> None:
    """Replace tests/golden/<stack>/ with exactly ``files``."""
    folder = GOLDEN / stack
    shutil.rmtree(folder, ignore_errors=True)
    for relative, content in files.items():
        path = folder.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def update(stacks: Sequence[str] = STACKS) -> list[str]:
    """Render the stacks into tests/golden/ and the runbooks into docs/runbooks/; returns what
    changed, one line each."""
    report = []
    for stack in stacks:
        before = read_tree(GOLDEN / stack) if (GOLDEN / stack).is_dir() else {}
        after = rendered(synthesize_stack(stack, PROJECT))
        write_golden(stack, after)
        summary = differences(f"tests/golden/{stack}", before, after).splitlines()
        report.append(f"tests/golden/{stack}: {len(after)} files; " + _counts(summary))
    runbooks = write_runbooks(ROOT)
    report.append(f"{runbooks.directory.relative_to(ROOT)}: {len(runbooks.written)} runbooks")
    return report


def _counts(summary: list[str]) -> str:
    if not summary:
        return "unchanged"
    return summary[0].split(": ", 1)[1].split(". ", 1)[0]


if __name__ == "__main__":
    for line in update(sys.argv[1:] or STACKS):
        print(line)
