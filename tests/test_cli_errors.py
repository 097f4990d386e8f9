"""Every expected error exits 2 with `prodstack: <message>`; a failing program exits 1; a bug
in prodstack exits 70; --debug adds the traceback. Never a traceback otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodstack.cli import main
from prodstack.synth import engine
from tests.support.projects import broken_project, run, tiny_project


def test_a_render_of_a_tiny_project_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path)
    status, out, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "out")
    )
    assert (status, err) == (0, "")
    assert "rendered 1 Kubernetes objects" in out


# -- exit 2: bad input, nothing written --------------------------------------------------------


def test_a_damaged_stack_file_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path, stack_file="config:\n  prodstack:app:\n    replicas: yes\n")
    status, out, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "out")
    )
    assert status == 2 and out == ""
    assert err.startswith("prodstack: ") and "Pulumi.dev.yaml:3:15: prodstack:app.replicas:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_misspelled_namespace_in_the_production_stack_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = broken_project(tmp_path, "prodstack:defaults:", "prodstak:defaults:")
    status, _, err = run(
        capsys, "--project", str(project), "render", "production", "--out", str(tmp_path / "out")
    )
    assert status == 2
    assert "did you mean prodstack:defaults?" in err


def test_encrypted_values_the_offline_render_cannot_decrypt_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-pulumi-here"))
    project = tiny_project(tmp_path, stack_file="config:\n  demo:token:\n    secure: v1:AAAA\n")
    status, _, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "out")
    )
    assert status == 2
    assert (
        "1 encrypted value(s) that the offline engine cannot decrypt" in err and "demo:token" in err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stack", ["..", ".", "../../etc", "a/b", "/tmp/x"])
def test_stack_names_that_escape_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str
) -> None:
    project = tiny_project(tmp_path)
    status, _, err = run(
        capsys, "--project", str(project), "render", stack, "--out", str(tmp_path / "out")
    )
    assert status == 2 and err.startswith("prodstack: invalid stack name")
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tiny_project(tmp_path)
    (tmp_path / "file").write_text("x")
    status, _, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "file")
    )
    assert (status, err) == (
        2,
        f"prodstack: --out {tmp_path / 'file'} is a file, not a folder; give a folder\n",
    )
    status, _, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "file" / "sub")
    )
    assert status == 2 and "a part of the path is a file" in err


def test_an_out_that_is_a_dangling_link_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path)
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    status, _, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "link")
    )
    assert status == 2 and "which does not exist" in err


def test_an_out_holding_a_foreign_folder_exits_2_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path)
    home = tmp_path / "home"
    (home / "dev" / "work").mkdir(parents=True)
    status, _, err = run(capsys, "--project", str(project), "render", "dev", "--out", str(home))
    assert status == 2 and "exists and was not written by prodstack" in err
    assert (home / "dev" / "work").is_dir()


def test_a_project_that_is_not_a_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    status, _, err = run(capsys, "--project", str(tmp_path / "file"), "graph", "dev")
    assert status == 2 and "is not a folder" in err


def test_argument_errors_exit_2_with_a_prodstack_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "dev", "--format", "xml"])
    assert exited.value.code == 2
    assert "prodstack: argument --format: invalid choice: 'xml'" in capsys.readouterr().err


# -- exit 1: the user's program failed -----------------------------------------------------------


def test_a_program_that_raises_exits_1_with_its_error_and_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path, program="x = 1\nraise ValueError('the program has a bug')\n")
    status, _, err = run(capsys, "--project", str(project), "graph", "dev")
    assert status == 1
    assert err.startswith(
        "prodstack: the Pulumi program failed: ValueError: the program has a bug (at "
    )
    assert "program.py:2); run again with --debug for the traceback" in err
    assert "Traceback" not in err
    status, _, err = run(capsys, "--project", str(project), "--debug", "graph", "dev")
    assert (
        status == 1 and "Traceback (most recent call last)" in err and 'program.py", line 2' in err
    )


def test_a_run_error_is_reported_by_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(
        tmp_path, program="import pulumi\nraise pulumi.RunError('no cluster named x')\n"
    )
    status, _, err = run(capsys, "--project", str(project), "graph", "dev")
    assert status == 1 and err.startswith(
        "prodstack: the Pulumi program failed: no cluster named x"
    )


def test_invalid_resource_args_are_a_program_failure_naming_the_culprit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = """\
    import pulumi_kubernetes as k8s
    k8s.core.v1.ConfigMap("a", metadata={"name": "a"}, data={"k": object()})
    """
    project = tiny_project(tmp_path, program=program)
    status, _, err = run(capsys, "--project", str(project), "graph", "dev")
    assert status == 1
    assert "the Pulumi program failed: ValueError: While processing resource: 'a'" in err
    assert "unexpected input of type object for k in ConfigMap" in err


# -- exit 70: a bug in prodstack ---------------------------------------------------------------


def test_an_internal_error_exits_70_and_debug_prints_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tiny_project(tmp_path)
    # The engine itself fails (a builtin raising from engine.py's own frame).
    monkeypatch.setattr(engine, "ResourceGraph", {}.__getitem__)
    status, out, err = run(capsys, "--project", str(project), "graph", "dev")
    assert (status, out) == (70, "")
    assert err == (
        "prodstack: internal error (this is a bug in prodstack): TypeError: "
        "dict.__getitem__() takes exactly one argument (4 given); "
        "run again with --debug for the traceback\n"
    )
    status, _, err = run(capsys, "--debug", "--project", str(project), "graph", "dev")
    assert status == 70 and "Traceback (most recent call last)" in err
    assert "prodstack/synth/engine.py" in err


def test_an_internal_error_outside_the_program_exits_70(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import prodstack.diagram

    project = tiny_project(tmp_path)
    monkeypatch.setattr(prodstack.diagram, "mermaid", lambda graph: graph.no_such_attribute)
    status, _, err = run(capsys, "--project", str(project), "graph", "dev")
    assert status == 70
    assert "internal error (this is a bug in prodstack): AttributeError:" in err


def test_the_command_line_never_prints_a_traceback_without_debug(tmp_path: Path) -> None:
    project = tiny_project(tmp_path, stack_file="config:\n  a: !!binary aGk=\n")
    completed = subprocess.run(
        [sys.executable, "-m", "prodstack.cli", "render", "dev", "--out", str(tmp_path / "out")],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        "prodstack: Pulumi.dev.yaml:2:6: a: the tag '!!binary' is not allowed; write plain "
        "strings, numbers, booleans, null, mappings and lists (tags !!str, !!int, !!float, "
        "!!bool, !!null, !!map, !!seq)\n"
    )


def test_a_huge_value_in_a_configuration_error_is_not_echoed_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "9" * 100_000
    project = broken_project(tmp_path, "pause: 5m}", f"pause: '{huge}'}}")
    status, _, err = run(capsys, "--project", str(project), "check", "production")
    assert status == 2 and "prodstack:defaults.app.canary.steps" in err
    # The message cuts the value (prodstack.config.types.shown), the CLI any line left too long.
    assert len(err) < 5000 and "'999999999999" in err and "characters" in err
