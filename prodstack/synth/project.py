"""Finding the Pulumi project, its stack program and a stack's configuration file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The project or stack cannot be found or read; the message says what to do."""


class UnknownStackError(ProjectError):
    def __init__(self, stack: str, known: list[str]) -> None:
        self.stack = stack
        self.known = known
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown stack {stack!r}; stacks in this project: {listed}")


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    def stacks(self) -> list[str]:
        return sorted(
            path.name[len("Pulumi.") : -len(".yaml")]
            for path in self.stack_config_dir.glob("Pulumi.*.yaml")
        )

    def stack_file(self, stack: str) -> Path:
        path = self.stack_config_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            raise UnknownStackError(stack, self.stacks())
        return path


def find_project(start: Path | None = None) -> Project:
    """The nearest ``Pulumi.yaml`` at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "Pulumi.yaml"
        if candidate.is_file():
            return _read_project(candidate)
    raise ProjectError(
        f"no Pulumi.yaml at or above {here}; run inside a prodstack project or pass --project"
    )


def _read_project(path: Path) -> Project:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    root = path.parent
    return Project(
        root=root,
        name=str(data.get("name", "")) or root.name,
        main=root / str(data.get("main", ".")),
        stack_config_dir=root / str(data.get("stackConfigDir", ".")),
    )


def stack_config(project: Project, stack: str) -> tuple[dict[str, str], list[str]]:
    """A stack file's ``config:`` as the engine hands it to programs: every value a string
    (structured values as JSON), plus the keys that are secret. Encrypted values cannot be
    read offline: they become the placeholder ``[secret]`` and stay marked secret."""
    path = project.stack_file(stack)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    raw = data.get("config") or {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: 'config' must be a mapping of keys to values")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        decoded, secret = _without_ciphertext(value)
        if secret:
            secret_keys.append(full_key)
        config[full_key] = decoded if isinstance(decoded, str) else json.dumps(decoded)
    return config, secret_keys


def _without_ciphertext(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "[secret]", True
        items = {k: _without_ciphertext(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_without_ciphertext(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False
