"""The prodstack command: exit codes, messages, and nothing written on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodstack.cli import main
from tests.support.projects import broken_project
from tests.support.stacks import ROOT


def test_render_writes_the_stack_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(ROOT), "render", "production", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Rollout" in out and "AnalysisTemplate" in out
    manifests = tmp_path / "production" / "shop-production" / "1-manifest"
    assert (manifests / "v1-namespace-default-shop-production.yaml").is_file()


def test_unknown_stack_exits_2_and_lists_the_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(ROOT), "render", "prod", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown stack 'prod'" in err and "dev, production, staging" in err
    assert not any(tmp_path.iterdir())


def test_bad_config_exits_2_names_the_key_writes_nothing(tmp_path: Path) -> None:
    project = broken_project(tmp_path, "interval: 1m", "interval: 1 minute")
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "prodstack.cli", "render", "production", "--out", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    # The analysis is a default of every service: reported once, at the default's key.
    assert (
        "prodstack:defaults.app.canary.analysis.interval: '1 minute' is not a duration; write a "
        "whole number of s, m or h (e.g. 2m) (in services order-worker, shop-api, storefront)"
    ) in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
    assert not out.exists()


def test_bad_config_leaves_earlier_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["--project", str(ROOT), "render", "production", "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in (out / "production").rglob("*") if p.is_file()}
    project = broken_project(tmp_path, "maxSurge: 25%", "maxSurge: 250%")
    assert main(["--project", str(project), "render", "production", "--out", str(out)]) == 2
    after = {p: p.read_bytes() for p in (out / "production").rglob("*") if p.is_file()}
    assert before == after


def test_invalid_yaml_in_a_stack_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = broken_project(
        tmp_path, "prodstack:namespace: shop-production", "prodstack:namespace: ["
    )
    assert main(["--project", str(project), "render", "production"]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_missing_project_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(tmp_path), "render", "production"]) == 2
    assert "no Pulumi.yaml" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["render"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["explode"])
    assert exited.value.code == 2


def test_a_kustomization_kept_next_to_the_render_survives_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(ROOT), "render", "production", "--out", str(tmp_path)]) == 0
    kustomization = tmp_path / "production" / "kustomization.yaml"
    kustomization.write_text("resources: []\n")
    capsys.readouterr()
    assert main(["--project", str(ROOT), "render", "production", "--out", str(tmp_path)]) == 0
    assert kustomization.read_text() == "resources: []\n"
    out = capsys.readouterr().out
    assert "kept 1 file(s) that prodstack did not write (not in .prodstack-render.json):" in out
    assert out.rstrip().endswith("kustomization.yaml")


def test_render_refuses_a_folder_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "production" / ".git").mkdir(parents=True)
    assert main(["--project", str(ROOT), "render", "production", "--out", str(tmp_path)]) == 2
    assert "exists and was not written by prodstack" in capsys.readouterr().err
    assert (tmp_path / "production" / ".git").is_dir()
