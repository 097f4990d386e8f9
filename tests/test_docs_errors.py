"""The stack-file error messages in docs/configuration.md are the ones prodstack prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodstack.synth.project import ProjectError, find_project, load_stack_config
from tests.support.stacks import ROOT

DOC = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- BEGIN stack file errors -->", "<!-- END stack file errors -->"

# Rows whose input cannot be written in a table cell: how the doc's example is made.
_LAUGHS = ["config:", "  prodstack:l0: &l0 [x, x, x, x, x, x, x, x, x, x]"] + [
    f"  prodstack:l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 7)
]
GENERATED = {
    "aliases that expand too far": ("\n".join(_LAUGHS) + "\n").encode(),
    "nesting deeper than 64 levels": b"config:\n  prodstack:a: " + b"[" * 65 + b"]" * 65 + b"\n",
    "not UTF-8": b"config:\n  prodstack:a: caf\xe9\n",
}


def rows() -> list[tuple[str, bytes, str]]:
    text = DOC.read_text()
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    found = []
    for line in table.strip().splitlines()[2:]:
        problem, given, message = (cell.strip() for cell in line.strip("|").split(" | "))
        code = re.fullmatch(r"`(.*)`", given)
        content = code[1].replace("⏎", "\n").encode() + b"\n" if code else GENERATED[problem]
        found.append((problem, content, message.strip("`")))
    return found


@pytest.mark.parametrize(("problem", "content", "message"), rows(), ids=lambda v: str(v)[:40])
def test_each_documented_message_is_what_prodstack_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str, content: bytes, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-pulumi"))
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_bytes(content)
    with pytest.raises(ProjectError) as raised:
        load_stack_config(find_project(tmp_path), "dev")
    printed = str(raised.value)
    assert printed.splitlines()[0] == message, problem


def test_every_class_has_a_row() -> None:
    assert len(rows()) >= 22
