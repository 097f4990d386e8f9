"""The golden renders under tests/golden/ are what ``prodstack render`` writes now, and
docs/runbooks/ is what ``prodstack runbooks`` writes (tests/support/golden.py; ``make golden``
updates both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodstack.output import MARKER
from prodstack.runbooks import write as write_runbooks
from prodstack.specs.alerts import RUNBOOK_DIR
from tests.conftest import stack_graph
from tests.support import golden
from tests.support.stacks import ROOT, STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_the_golden_render_is_what_prodstack_renders(stack: str) -> None:
    committed = golden.read_tree(golden.GOLDEN / stack)
    assert committed, f"tests/golden/{stack} is missing: run `{golden.UPDATE}`"
    problems = golden.differences(
        f"tests/golden/{stack}", committed, golden.rendered(stack_graph(stack))
    )
    if problems:
        pytest.fail(problems, pytrace=False)


def test_the_golden_folder_holds_only_the_stacks() -> None:
    assert sorted(p.name for p in golden.GOLDEN.iterdir()) == sorted(STACKS)
    assert not list(golden.GOLDEN.rglob(MARKER))


def test_the_repositorys_runbooks_are_what_prodstack_runbooks_writes(tmp_path: Path) -> None:
    """Alerts of the repository's stacks link into its own docs/runbooks/ (their runbookBaseUrl
    is this repository's tree); the package's runbooks are the source."""
    written = write_runbooks(tmp_path)
    problems = golden.differences(
        RUNBOOK_DIR, golden.read_tree(ROOT / RUNBOOK_DIR), golden.read_tree(written.directory)
    )
    assert not problems, problems
    assert (ROOT / RUNBOOK_DIR / MARKER).read_bytes() == (written.directory / MARKER).read_bytes()


def test_a_difference_is_summarized_for_a_reviewer() -> None:
    before = {"a.yaml": b"kind: Service\nport: 80\n", "gone.yaml": b"x\n"}
    after = {"a.yaml": b"kind: Service\nport: 8080\n", "new.yaml": b"y\n"}
    summary = golden.differences("tests/golden/dev", before, after)
    assert summary.splitlines()[0] == (
        "tests/golden/dev is not what prodstack renders now: 1 changed, 1 new, 1 gone. "
        "If the change is meant, run `make golden` and commit the diff."
    )
    assert "  new:     new.yaml" in summary and "  gone:    gone.yaml" in summary
    assert "      -port: 80" in summary and "      +port: 8080" in summary
    assert golden.differences("tests/golden/dev", before, dict(before)) == ""
