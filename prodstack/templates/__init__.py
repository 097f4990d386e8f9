"""``prodstack init``: a new Pulumi project made from the template in ``project/``.

The project runs prodstack's stack builder on a small dev stack (two services, one calling the
other), and carries the runbooks its alerts link to. ``create`` never overwrites: when any file
it would write exists, it refuses before writing anything.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from prodstack import __version__
from prodstack.runbooks import write as write_runbooks
from prodstack.specs.alerts import RUNBOOK_DIR

STACK = "dev"
# What the project gets: its path to the template file it is made from.
FILES = {
    "Pulumi.yaml": "Pulumi.yaml",
    f"Pulumi.{STACK}.yaml": f"Pulumi.{STACK}.yaml",
    "__main__.py": "__main__.py",
    "requirements.txt": "requirements.txt",
    ".gitignore": "gitignore",  # stored without the dot, so no tool reads it as this repository's
}
# Pulumi's rule for project names (sdk/go/common/tokens/project.go, ValidateProjectName).
_PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class InitError(Exception):
    """The project cannot be created; the message names the path or value and the fix."""


@dataclass(frozen=True)
class Created:
    directory: Path
    project: str
    files: tuple[str, ...]

    def summary(self) -> str:
        listed = ", ".join(self.files)
        return (
            f"created Pulumi project {self.project!r} in {self.directory}: {listed}\n"
            f"next: cd {self.directory} && prodstack render {STACK} && prodstack check {STACK}"
        )


def create(directory: Path, project: str | None = None) -> Created:
    """Write a new project into ``directory`` (created if missing); ``project`` defaults to the
    folder's name."""
    name = project if project is not None else directory.resolve().name
    if not _PROJECT_NAME.fullmatch(name):
        raise InitError(
            f"{name!r} cannot name a Pulumi project: use 1 to 100 letters, digits, '-', '_' or "
            "'.'" + ("" if project is not None else " (it is the folder's name; give --name)")
        )
    _refuse_existing(directory)
    values = {"project": name, "version": __version__}
    contents = {path: _render(template, values) for path, template in FILES.items()}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in contents.items():
            with open(directory / path, "x", encoding="utf-8") as file:  # never overwrite
                file.write(text)
    except FileExistsError as exc:
        raise InitError(
            f"{exc.filename} appeared while writing; nothing else was written"
        ) from None
    except OSError as exc:
        raise InitError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    written = write_runbooks(directory)
    return Created(
        directory, name, (*contents, f"{RUNBOOK_DIR}/ ({len(written.written)} runbooks)")
    )


def _refuse_existing(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise InitError(f"{directory} is a file; give a folder for the new project")
    present = [path for path in (*FILES, RUNBOOK_DIR) if os.path.lexists(directory / path)]
    if present:
        what = "a Pulumi project" if "Pulumi.yaml" in present else "files of a project"
        raise InitError(
            f"{directory} already has {what} ({', '.join(present)}); prodstack init never "
            "overwrites: give a new or empty folder"
        )


def _render(template: str, values: dict[str, str]) -> str:
    text = resources.files(__name__).joinpath("project", template).read_text(encoding="utf-8")
    return string.Template(text).substitute(values)
