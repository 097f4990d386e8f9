"""The commands that hand out what the package ships: init, policy-pack and runbooks (their
refusals here; tests/test_wheel.py runs them from an installed wheel)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from prodstack import policy_pack
from prodstack.cli import main
from prodstack.runbooks import runbooks
from prodstack.specs.alerts import ALERT_NAMES, RUNBOOK_DIR
from prodstack.synth import synthesize_stack
from prodstack.templates import FILES, STACK


def test_init_writes_a_project_whose_stack_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "shop")]) == 0
    out = capsys.readouterr().out
    assert "created Pulumi project 'shop'" in out and f"prodstack check {STACK}" in out
    project = tmp_path / "shop"
    assert sorted(p.name for p in project.iterdir()) == sorted([*FILES, "docs"])
    assert 'name: "shop"' in (project / "Pulumi.yaml").read_text()
    assert "acme/shop/blob/main/" in (project / f"Pulumi.{STACK}.yaml").read_text()
    graph = synthesize_stack(STACK, project)
    assert sorted(r.object_name for r in graph.kind("Rollout")) == ["api", "web"]
    assert graph.one("NetworkPolicy", "web-to-api").namespace == "apps-dev"


def test_init_into_an_existing_folder_with_other_files_keeps_them(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("mine too")
    assert main(["init", str(tmp_path), "--name", "platform"]) == 0
    assert (tmp_path / "README.md").read_text() == "mine"
    assert (tmp_path / "docs" / "design.md").read_text() == "mine too"
    assert sorted(p.stem for p in (tmp_path / RUNBOOK_DIR).glob("*.md")) == sorted(ALERT_NAMES)


@pytest.mark.parametrize("existing", [*FILES, RUNBOOK_DIR])
def test_init_refuses_before_writing_anything(
    tmp_path: Path, existing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / existing
    path.parent.mkdir(parents=True, exist_ok=True)
    if existing == RUNBOOK_DIR:
        path.mkdir()
    else:
        path.write_text("kept")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["init", str(tmp_path), "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "already has" in err and existing in err and "never overwrites" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_init_refuses_a_file_and_a_name_pulumi_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["init", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "new"), "--name", "my project"]) == 2
    err = capsys.readouterr().err
    assert "'my project' cannot name a Pulumi project" in err
    assert not (tmp_path / "new").exists()
    assert main(["init", str(tmp_path / "two words")]) == 2
    assert "(it is the folder's name; give --name)" in capsys.readouterr().err


def test_runbooks_are_written_where_alerts_link_and_kept_files_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runbooks", "--out", str(tmp_path)]) == 0
    folder = tmp_path / RUNBOOK_DIR
    assert {p.name: p.read_bytes() for p in folder.glob("*.md")} == runbooks()
    (folder / "Escalation.md").write_text("ours")
    (folder / "HighLatency.md").write_text("edited by hand")
    assert main(["runbooks", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "kept Escalation.md" in out
    assert (folder / "Escalation.md").read_text() == "ours"
    assert (folder / "HighLatency.md").read_bytes() == runbooks()["HighLatency.md"]


def test_runbooks_refuse_a_folder_prodstack_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / RUNBOOK_DIR
    folder.mkdir(parents=True)
    (folder / "HighErrorRate.md").write_text("a team's own runbook")
    assert main(["runbooks", "--out", str(tmp_path)]) == 2
    assert "was not written by prodstack" in capsys.readouterr().err
    assert (folder / "HighErrorRate.md").read_text() == "a team's own runbook"


def test_policy_pack_prints_the_installed_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy-pack", "--path"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder == policy_pack.directory()
    assert {p.name for p in folder.iterdir()} >= {"PulumiPolicy.yaml", "__main__.py"}


def test_policy_pack_without_pulumi_policy_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == policy_pack.RUNTIME else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(["policy-pack", "--path"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pip install 'prodstack[policy]'" in captured.err
