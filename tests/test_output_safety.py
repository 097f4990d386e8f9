"""--out safety: only prodstack's own folders are replaced, atomically, never through a link."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodstack import __version__, output
from prodstack.output import MARKER, OutputError, check_target, write_tree

FIRST = {"000-namespace-shop.yaml": b"kind: Namespace\n", "cloud-resources.json": b"[]\n"}
SECOND = {"000-namespace-shop.yaml": b"kind: Namespace # v2\n", "shop/1-manifest/x.yaml": b"x\n"}


def tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def siblings(out: Path) -> list[str]:
    return sorted(path.name for path in out.iterdir())


def test_writes_the_tree_and_a_marker_listing_it(tmp_path: Path) -> None:
    result = write_tree(tmp_path, "production", SECOND)
    target = tmp_path / "production"
    assert result.directory == target and result.kept == ()
    marker = json.loads((target / MARKER).read_text())
    assert marker == {
        "generator": "prodstack",
        "version": __version__,
        "files": ["000-namespace-shop.yaml", "shop/1-manifest/x.yaml"],
    }
    assert tree(target) == {**SECOND, MARKER: (target / MARKER).read_bytes()}
    assert siblings(tmp_path) == ["production"]


def test_a_second_render_replaces_what_the_first_wrote(tmp_path: Path) -> None:
    write_tree(tmp_path, "production", FIRST)
    write_tree(tmp_path, "production", SECOND)
    files = tree(tmp_path / "production")
    files.pop(MARKER)
    assert files == SECOND  # cloud-resources.json, written only by the first, is gone
    assert siblings(tmp_path) == ["production"]


def test_home_with_an_existing_folder_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "dev" / "project").mkdir(parents=True)
    (home / "dev" / "project" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError) as raised:
        write_tree(home, "dev", FIRST)
    assert str(raised.value) == (
        f"{home / 'dev'} exists and was not written by prodstack (it has no {MARKER}); "
        "prodstack replaces only folders it created. Give another --out, or move it away"
    )
    assert (home / "dev" / "project" / "notes.txt").read_text() == "mine"
    assert siblings(home) == ["dev"]


def test_a_project_folder_named_like_the_stack_is_refused_git_included(tmp_path: Path) -> None:
    project = tmp_path / "production"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "000-namespace-shop.yaml").write_text("mine\n")
    with pytest.raises(OutputError, match="was not written by prodstack"):
        write_tree(tmp_path, "production", FIRST)
    assert (project / ".git" / "HEAD").is_file()


def test_files_prodstack_did_not_write_are_kept_and_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, "production", FIRST)
    target = tmp_path / "production"
    (target / "kustomization.yaml").write_text("resources: []\n")
    (target / "overlays" / "extra").mkdir(parents=True)
    (target / "overlays" / "extra" / "patch.yaml").write_text("patch\n")
    (target / "empty").mkdir()
    result = write_tree(tmp_path, "production", SECOND)
    assert result.kept == ("empty/", "kustomization.yaml", "overlays/extra/patch.yaml")
    assert (target / "kustomization.yaml").read_text() == "resources: []\n"
    assert (target / "overlays" / "extra" / "patch.yaml").read_text() == "patch\n"
    assert (target / "empty").is_dir()
    assert not (target / "cloud-resources.json").exists()
    # Kept again on the next render: they are still not prodstack's.
    assert write_tree(tmp_path, "production", FIRST).kept == result.kept


def test_a_new_file_at_the_path_of_a_kept_file_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, "production", {"a.yaml": b"a\n"})
    (tmp_path / "production" / "cloud-resources.json").write_text("mine\n")
    with pytest.raises(OutputError, match=r"cloud-resources.json was not written by prodstack"):
        write_tree(tmp_path, "production", FIRST)
    assert (tmp_path / "production" / "cloud-resources.json").read_text() == "mine\n"
    assert (tmp_path / "production" / "a.yaml").read_bytes() == b"a\n"
    assert siblings(tmp_path) == ["production"]


def test_a_render_from_before_the_marker_is_recognised_once(tmp_path: Path) -> None:
    legacy = tmp_path / "production"
    legacy.mkdir()
    (legacy / "000-namespace-shop-production.yaml").write_text("old\n")
    (legacy / "cloud-resources.json").write_text("[]\n")
    write_tree(tmp_path, "production", SECOND)
    assert not (legacy / "000-namespace-shop-production.yaml").exists()
    assert (legacy / MARKER).is_file()


def test_the_target_being_a_symlink_is_refused_and_nothing_is_deleted_through_it(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_tree(elsewhere, "production", FIRST)  # even a real render behind the link
    out = tmp_path / "out"
    out.mkdir()
    (out / "production").symlink_to(elsewhere / "production")
    with pytest.raises(OutputError, match="is a symbolic link"):
        write_tree(out, "production", SECOND)
    assert (elsewhere / "production" / "cloud-resources.json").is_file()


def test_links_inside_an_old_render_are_kept_as_links_never_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    out = tmp_path / "out"
    write_tree(out, "production", FIRST)
    (out / "production" / "link-to-folder").symlink_to(precious)
    (out / "production" / "link-to-file").symlink_to(precious / "data.txt")
    result = write_tree(out, "production", SECOND)
    assert result.kept == ("link-to-file", "link-to-folder")
    assert os.readlink(out / "production" / "link-to-folder") == str(precious)
    assert (precious / "data.txt").read_text() == "keep me"
    shutil.rmtree(out)  # and a user's rm of the render does not reach through either
    assert (precious / "data.txt").read_text() == "keep me"


def test_a_link_planted_where_prodstack_writes_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.yaml"
    victim.write_text("victim\n")
    out = tmp_path / "out"
    write_tree(out, "production", {"a.yaml": b"a\n"})
    (out / "production" / "cloud-resources.json").symlink_to(victim)
    with pytest.raises(OutputError, match="was not written by prodstack"):
        write_tree(out, "production", FIRST)
    assert victim.read_text() == "victim\n"


@pytest.mark.parametrize("name", [".", "..", "a/b", "/etc", "a\0b", "a\\b", ""])
def test_names_that_escape_the_output_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError, match="cannot name a folder inside the output folder"):
        write_tree(tmp_path / "out", name, FIRST)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "./a", "a/../b", "a\\b", MARKER])
def test_paths_inside_the_tree_cannot_escape_it(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match=r"relative POSIX path|marker"):
        write_tree(tmp_path, "production", {path: b"x"})


def test_a_path_that_is_both_file_and_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both a file and a folder"):
        write_tree(tmp_path, "production", {"a": b"1", "a/b": b"2"})


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"is a file, not a folder"):
        write_tree(tmp_path / "file", "production", FIRST)
    with pytest.raises(OutputError, match=r"a part of the path is a file"):
        write_tree(tmp_path / "file" / "under", "production", FIRST)


def test_out_that_is_a_dangling_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(OutputError, match=r"is a symbolic link to .*missing, which does not exist"):
        write_tree(tmp_path / "dangling", "production", FIRST)
    assert not (tmp_path / "missing").exists()


def test_a_read_only_out_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: make the file system say no, as it would
        monkeypatch.setattr(os, "access", lambda *_: False)
    with pytest.raises(OutputError, match=r"is not writable; choose a folder you can write to"):
        write_tree(read_only, "production", FIRST)
    assert list(read_only.iterdir()) == []


# -- interrupted renders: the previous render stays whole --------------------------------------


def _failing_at(
    monkeypatch: pytest.MonkeyPatch, name: str, call: int, error: BaseException
) -> None:
    original: Callable[..., Any] = getattr(os if name == "rename" else output, name)
    calls = {"n": 0}

    def fail(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise error
        return original(*args, **kwargs)

    if name == "rename":
        monkeypatch.setattr(os, "rename", fail)
    else:
        monkeypatch.setattr(output, name, fail)


@pytest.mark.parametrize(
    ("function", "call"),
    [
        ("_write_file", 2),  # while the new tree is being written
        ("_write_marker", 1),
        ("rename", 1),  # renaming the old render away
        ("rename", 2),  # renaming the new one in
    ],
)
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_at_any_step_leaves_the_previous_render_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    call: int,
    error: BaseException,
) -> None:
    write_tree(tmp_path, "production", FIRST)
    (tmp_path / "production" / "kustomization.yaml").write_text("mine\n")
    before = tree(tmp_path / "production")
    _failing_at(monkeypatch, function, call, error)
    with pytest.raises((OutputError, OSError, KeyboardInterrupt)):
        write_tree(tmp_path, "production", SECOND)
    assert tree(tmp_path / "production") == before
    assert siblings(tmp_path) == ["production"]


def test_a_failed_delete_of_the_old_render_leaves_the_new_one_and_is_cleaned_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, "production", FIRST)

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(shutil, "rmtree", refuse)
    result = write_tree(tmp_path, "production", SECOND)
    assert result.warnings and "could not delete the previous render" in result.warnings[0]
    assert tree(tmp_path / "production")["shop/1-manifest/x.yaml"] == b"x\n"
    leftover = [name for name in siblings(tmp_path) if name != "production"]
    assert len(leftover) == 1 and leftover[0].startswith(".production.prodstack-old-")
    monkeypatch.undo()
    write_tree(tmp_path, "production", FIRST)
    assert siblings(tmp_path) == ["production"]


def test_a_crash_between_the_two_renames_is_recovered_by_the_next_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, "production", FIRST)
    (tmp_path / "production" / "kustomization.yaml").write_text("mine\n")
    # Simulate a process killed after the old tree was renamed away: no rollback runs.
    original = os.rename
    calls = {"n": 0}

    def die_on_second(source: Any, destination: Any) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:  # the new tree's rename, and the rollback's
            raise SystemExit("killed")
        original(source, destination)

    monkeypatch.setattr(os, "rename", die_on_second)
    monkeypatch.setattr(output, "_remove", lambda path: None)  # nor any cleanup
    with pytest.raises(SystemExit):
        write_tree(tmp_path, "production", SECOND)
    monkeypatch.undo()
    assert not (tmp_path / "production").exists()  # the crash state
    # The next render puts the previous one back first, then replaces it as usual: the file
    # kept in the previous render is still there.
    result = write_tree(tmp_path, "production", FIRST)
    assert result.kept == ("kustomization.yaml",)
    assert (result.directory / "kustomization.yaml").read_text() == "mine\n"
    assert siblings(tmp_path) == ["production"]


def test_leftovers_of_other_stacks_and_foreign_folders_are_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / ".production.prodstack-new-abc123"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("not prodstack's: no marker")
    other = tmp_path / ".staging.prodstack-old-abc123"
    other.mkdir()
    (other / MARKER).write_text("{}")
    write_tree(tmp_path, "production", FIRST)
    assert (foreign / "mine.txt").is_file() and other.is_dir()


def test_check_target_refuses_what_write_tree_would_without_creating_anything(
    tmp_path: Path,
) -> None:
    (tmp_path / "home" / "dev").mkdir(parents=True)
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    for out, name in [
        (tmp_path / "home", "dev"),
        (tmp_path / "file", "dev"),
        (tmp_path / "file" / "under", "dev"),
        (tmp_path / "dangling", "dev"),
        (tmp_path / "new", ".."),
    ]:
        with pytest.raises(OutputError):
            check_target(out, name)
    check_target(tmp_path / "new" / "deeper", "dev")
    write_tree(tmp_path / "new", "dev", FIRST)
    check_target(tmp_path / "new", "dev")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "file", "home", "new"]
