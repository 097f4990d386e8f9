"""Every Python example in README.md and docs/ runs.

The ```python blocks of a page run in order, in one namespace, as one Pulumi program under
the offline engine (a block may use the names an earlier block of its page defined). A block
that is not meant to run says so on the line before it: ``<!-- not run: <why> -->``.
Other tests assert what particular examples build; this one makes sure none is forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prodstack.synth import synthesize
from tests.support.stacks import ROOT

BLOCK = re.compile(
    r"^(?:<!-- not run: (?P<reason>[^\n]*?) -->\n)?```python\n(?P<code>.*?)^```$", re.M | re.S
)
SKIP_MARKER = re.compile(r"<!-- not run:(?P<rest>[^\n]*)-->\n(?P<next>[^\n]*)")
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    code: str
    skipped: str | None


def examples(page: Path) -> list[Example]:
    text = page.read_text()
    return [
        Example(page, text.count("\n", 0, match.start("code")) + 1, match["code"], match["reason"])
        for match in BLOCK.finditer(text)
    ]


PAGES_WITH_EXAMPLES = [page for page in PAGES if examples(page)]


def _id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_the_pages_have_examples() -> None:
    assert len(PAGES_WITH_EXAMPLES) >= 8
    assert ROOT / "README.md" in PAGES_WITH_EXAMPLES


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=_id)
def test_the_examples_of_a_page_run(page: Path) -> None:
    runnable = [example for example in examples(page) if example.skipped is None]
    if not runnable:
        # A page whose examples run elsewhere names the test that runs each of them.
        for example in examples(page):
            named = re.findall(r"tests/\S+\.py", example.skipped or "")
            assert named and all((ROOT / path).is_file() for path in named), (
                f"{_id(page)}:{example.line}: not run here, and no test named that runs it"
            )
        return

    def program() -> None:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        for example in runnable:
            # Padding keeps a traceback's line numbers those of the page.
            code = "\n" * (example.line - 1) + example.code
            exec(compile(code, str(page), "exec"), namespace)

    synthesize(program, stack="docs-examples")


def test_a_not_run_marker_gives_a_reason_and_precedes_a_python_block() -> None:
    for page in PAGES:
        for marker in SKIP_MARKER.finditer(page.read_text()):
            assert marker["rest"].strip(), f"{_id(page)}: a not-run marker without a reason"
            assert marker["next"] == "```python", (
                f"{_id(page)}: '<!-- not run: ... -->' must come right before a ```python block"
            )
