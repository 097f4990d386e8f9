"""Writing a tree of files into ``DIR/<name>/`` without ever deleting what prodstack did not write.

The rules (docs/configuration.md, "Where render writes"):

- ``DIR/<name>`` is replaced only when prodstack created it: it holds ``.prodstack-render.json``
  (the marker), which lists the files prodstack wrote. A target that exists without the marker is
  refused (OutputError), unless it is a render from before the marker (only files named as
  prodstack 0.1 named them: ``NNN-kind-name.yaml`` and ``cloud-resources.json``).
- Anything in the target that the marker does not list (a ``kustomization.yaml`` kept next to
  the render, a folder of overlays) was put there by someone else: it is carried over into the
  new tree and reported. A new file at the same path as one of them is refused.
- The swap is atomic: the new tree is complete in a sibling temporary folder; the old tree is
  renamed away, the new one renamed in, then the old one deleted. Whatever fails, the previous
  render stays whole at ``DIR/<name>`` (or, after the new one is in, is a leftover sibling that
  the next run deletes).
- Symbolic links are never followed out of DIR: a target that is a link is refused, links
  inside an old tree are carried over as links, and deletion never goes through one (shutil's
  rmtree unlinks links, on platforms with ``os.open(dir_fd=...)`` with its fd-based walk).
- Every problem with DIR itself (a file, a dangling link, no permission, a path under a file)
  is an OutputError whose message names the path and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from prodstack import __version__

MARKER = ".prodstack-render.json"
GENERATOR = "prodstack"
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.prodstack-(?P<role>new|old)-[A-Za-z0-9_]+")
# What prodstack 0.1.0 wrote before the marker existed (prodstack/render.py of that version).
_UNMARKED_RENDER_FILE = re.compile(r"[0-9]{3}-[a-z0-9]+-[a-z0-9.-]+\.yaml|cloud-resources\.json")

try:  # POSIX: serialize writers of one DIR (a rename race would lose a render)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class OutputError(Exception):
    """The output folder cannot be written safely; the message says why and what to do."""


@dataclass(frozen=True)
class WriteResult:
    directory: Path
    written: tuple[str, ...]
    kept: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def check_name(name: str) -> None:
    """A folder name that stays inside DIR: one path component, not ``.`` or ``..``."""
    if (
        not name
        or name in (".", "..")
        or any(char in name for char in ("/", "\\", "\0"))
        or os.path.isabs(name)
        or _TEMPORARY.fullmatch(name)
    ):
        raise OutputError(
            f"{name!r} cannot name a folder inside the output folder: use one path component "
            "without '/', '\\' or NUL, other than '.' and '..'"
        )


def check_target(out: Path, name: str) -> None:
    """Raise OutputError now if ``write_tree(out, name, ...)`` would refuse the folder (without
    creating anything), so that a caller can fail before doing the work."""
    check_name(name)
    if out.is_symlink() and not out.exists():
        _prepare_out(out)  # raises: a dangling link
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"--out {out} is a file, not a folder; give a folder")
        _owned_files(out / name)
        return
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"--out {out}: a part of the path is a file, not a folder")
            return


def write_tree(out: Path, name: str, files: Mapping[str, bytes]) -> WriteResult:
    """Replace ``out/name/`` with ``files`` (relative POSIX paths to contents), safely."""
    check_name(name)
    relative = _check_paths(files)
    _prepare_out(out)
    with _locked(out):
        target = out / name
        _remove_leftovers(out, name)
        previous = _owned_files(target)
        new = _temporary(out, name, "new")
        try:
            kept = _carry_over(target, new, previous, relative) if previous is not None else ()
            _write_marker(new, relative)
            for path in relative:
                _write_file(new, path, files[path])
            warnings = _swap(new, target, out, name, exists=previous is not None)
        except BaseException:
            _remove(new)
            raise
    return WriteResult(target, tuple(relative), kept, warnings)


def _check_paths(files: Mapping[str, bytes]) -> list[str]:
    paths = sorted(files)
    folded: dict[str, str] = {}
    for path in paths:
        pure = PurePosixPath(path)
        parts = path.split("/")
        if (
            not path
            or pure.is_absolute()
            or any(part in ("", ".", "..") for part in parts)
            or any(char in path for char in ("\\", "\0"))
        ):
            raise ValueError(f"{path!r} is not a relative POSIX path inside the tree")
        if parts[0] == MARKER:
            raise ValueError(f"{path!r} is prodstack's marker file")
        if path.lower() in folded:  # one file on case-insensitive file systems (macOS)
            raise ValueError(f"{path!r} and {folded[path.lower()]!r} differ only in case")
        folded[path.lower()] = path
    as_folders = {str(parent) for path in paths for parent in PurePosixPath(path).parents}
    for path in paths:
        if path in as_folders:
            raise ValueError(f"{path!r} is both a file and a folder of the tree")
    return paths


def _prepare_out(out: Path) -> None:
    if out.is_symlink() and not out.exists():
        raise OutputError(
            f"--out {out} is a symbolic link to {os.readlink(out)}, which does not exist"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"--out {out}: a part of the path is a file, not a folder") from None
    except NotADirectoryError:
        raise OutputError(f"--out {out}: a part of the path is a file, not a folder") from None
    except PermissionError:
        raise OutputError(f"--out {out} cannot be created: permission denied") from None
    except OSError as exc:
        raise OutputError(f"--out {out} cannot be created: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out} is not writable; choose a folder you can write to")


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    descriptor = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _owned_files(target: Path) -> frozenset[str] | None:
    """The files prodstack wrote into ``target`` (None when there is no target); raises
    OutputError when the target is not prodstack's."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return None
    refusal = (
        f"{target} exists and was not written by prodstack (it has no {MARKER}); "
        "prodstack replaces only folders it created. Give another --out, or move it away"
    )
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(
            f"{target} is a symbolic link (to {os.readlink(target)}); prodstack does not "
            "write through links. Give another --out, or replace the link with a folder"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{target} exists and is not a folder; give another --out")
    marker = target / MARKER
    try:
        marker_info = marker.lstat()
    except FileNotFoundError:
        return _unmarked_render(target, refusal)
    if not stat.S_ISREG(marker_info.st_mode):
        raise OutputError(refusal)
    try:
        listed = json.loads(marker.read_text(encoding="utf-8"))
        files = listed["files"]
        if listed.get("generator") != GENERATOR or not all(isinstance(f, str) for f in files):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(
            f"{marker} is not a marker prodstack can read; if {target} is a render, delete it "
            "and render again"
        ) from None
    return frozenset(files)


def _unmarked_render(target: Path, refusal: str) -> frozenset[str]:
    try:
        entries = list(os.scandir(target))
    except OSError:
        raise OutputError(refusal) from None
    looks_rendered = bool(entries) and all(
        entry.is_file(follow_symlinks=False) and _UNMARKED_RENDER_FILE.fullmatch(entry.name)
        for entry in entries
    )
    if not looks_rendered:
        raise OutputError(refusal)
    return frozenset(entry.name for entry in entries)


def _temporary(out: Path, name: str, role: str) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f".{name}.prodstack-{role}-", dir=out))
    except PermissionError:
        raise OutputError(
            f"--out {out} is not writable; choose a folder you can write to"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from None


def _carry_over(
    target: Path, new: Path, owned: frozenset[str], planned: list[str]
) -> tuple[str, ...]:
    """Copy what someone else put in ``target`` into ``new``; the paths copied."""
    planned_set = set(planned)
    planned_folders = {str(p) for path in planned for p in PurePosixPath(path).parents}
    kept: list[str] = []
    for root, folders, names in os.walk(target, followlinks=False):
        base = Path(root)
        here = PurePosixPath(base.relative_to(target).as_posix())
        for folder in sorted(folders):
            relative = str(here / folder)
            source = base / folder
            if source.is_symlink():
                kept.append(relative)
                _copy_link(source, new / relative, relative, planned_set, planned_folders)
            elif relative in planned_set:
                raise OutputError(_collision(target, relative))
        for entry in sorted(names):
            relative = str(here / entry)
            if relative == MARKER or relative in owned:
                continue
            if relative in planned_set or relative in planned_folders:
                raise OutputError(_collision(target, relative))
            source = base / entry
            destination = new / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            mode = source.lstat().st_mode
            if stat.S_ISLNK(mode):
                _copy_link(source, destination, relative, planned_set, planned_folders)
            elif stat.S_ISREG(mode):
                shutil.copy2(source, destination, follow_symlinks=False)
            else:
                raise OutputError(
                    f"{source} is not a regular file (a socket, pipe or device); prodstack "
                    "cannot keep it across renders: move it out of the render folder"
                )
            kept.append(relative)
        # Folders holding only prodstack's files disappear with them; other empty ones stay.
        if not folders and not names and here != PurePosixPath("."):
            (new / str(here)).mkdir(parents=True, exist_ok=True)
            kept.append(f"{here}/")
    return tuple(sorted(kept))


def _copy_link(
    source: Path, destination: Path, relative: str, planned: set[str], folders: set[str]
) -> None:
    if relative in planned or relative in folders:
        raise OutputError(_collision(source.parent, relative))
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.readlink(source), destination)


def _collision(target: Path, relative: str) -> str:
    return (
        f"{target / relative} was not written by prodstack, and the new render writes the same "
        "path; move it away (prodstack never overwrites a file it did not write)"
    )


def _write_marker(new: Path, files: list[str]) -> None:
    marker = {"generator": GENERATOR, "version": __version__, "files": files}
    (new / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _write_file(new: Path, relative: str, content: bytes) -> None:
    destination = new.joinpath(*relative.split("/"))
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)
    except OSError as exc:
        raise OutputError(f"cannot write {destination}: {exc.strerror or exc}") from None


def _swap(new: Path, target: Path, out: Path, name: str, *, exists: bool) -> tuple[str, ...]:
    """Put ``new`` at ``target``; the previous tree goes away only once the new one is in."""
    if not exists:
        _rename(new, target)
        return ()
    old = _temporary(out, name, "old")
    os.rmdir(old)  # a unique name to rename the previous render to
    _rename(target, old)
    try:
        _rename(new, target)
    except BaseException:
        os.rename(old, target)  # the previous render goes back where it was
        raise
    try:
        shutil.rmtree(old)
    except OSError as exc:
        return (
            f"could not delete the previous render {old} ({exc.strerror or exc}); "
            "the next render deletes it",
        )
    return ()


def _rename(source: Path, destination: Path) -> None:
    try:
        os.rename(source, destination)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise OutputError(f"{destination} appeared while rendering; render again") from None
        raise OutputError(f"cannot move {source} to {destination}: {exc.strerror or exc}") from None


def _remove_leftovers(out: Path, name: str) -> None:
    """Clean up after an interrupted render of ``name``: a previous render that was renamed
    away but not replaced goes back to ``out/name``; other temporary trees are deleted. Only
    real folders named as prodstack names them and holding its marker are touched."""
    target = out / name
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or match["name"] != name or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        marker = path / MARKER
        if not (marker.is_file() and not marker.is_symlink()):
            if match["role"] == "new" and not any(os.scandir(path)):
                path.rmdir()  # created, nothing written yet
            continue
        if match["role"] == "old" and not os.path.lexists(target):
            _rename(path, target)
        else:
            _remove(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
