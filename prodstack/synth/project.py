"""Finding the Pulumi project, its stack program and a stack's configuration file.

Both files are read strictly (prodstack.synth.stack_yaml): every value has one meaning, or the
error names the file, the line and the fix. Each error is a ProjectError, exit 2 in the CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodstack.synth.encrypted import (
    DecryptionError,
    EncryptedPlaceholder,
    decrypt_with_pulumi,
    secret_leaves,
)
from prodstack.synth.stack_yaml import (
    Document,
    KeyPath,
    YamlFileError,
    display_path,
    echo,
    format_key_path,
    read_yaml_file,
)

# The configuration namespace of prodstack's own keys (prodstack.config.loader.NAMESPACE).
PRODSTACK_NAMESPACE = "prodstack"
# Pulumi's rule for project and stack names (sdk/go/common/tokens/project.go and stack_name.go).
_PULUMI_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# The top-level keys of a stack file (sdk/go/common/workspace/project.go, ``ProjectStack``).
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


class ProjectError(Exception):
    """The project or stack cannot be found or read; the message says what to do."""


class UnknownStackError(ProjectError):
    def __init__(self, stack: str, known: list[str]) -> None:
        self.stack = stack
        self.known = known
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown stack {stack!r}; stacks in this project: {listed}")


def check_stack_name(stack: str) -> None:
    """Refuse a stack name Pulumi would refuse, and ``.``/``..`` (they name folders)."""
    if stack in (".", "..") or not _PULUMI_NAME.fullmatch(stack):
        raise ProjectError(
            f"invalid stack name {echo(stack)}: a stack name is 1 to 100 letters, digits, '-', "
            "'_' or '.' (and not '.' or '..'); give the short name, e.g. production"
        )


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    def stacks(self) -> list[str]:
        names = (
            path.name[len("Pulumi.") : -len(".yaml")]
            for path in self.stack_config_dir.glob("Pulumi.*.yaml")
        )
        return sorted(
            name for name in names if name not in (".", "..") and _PULUMI_NAME.fullmatch(name)
        )

    @property
    def program_directory(self) -> Path:
        """The directory the engine runs the program and its providers in: ``main`` when it
        is a directory, else the directory holding it (pulumi/pulumi pkg/engine/project.go
        ``getPwdMain``; each plugin starts there, sdk/go/common/resource/plugin/plugin.go)."""
        return self.main if self.main.is_dir() else self.main.parent

    def stack_file(self, stack: str) -> Path:
        check_stack_name(stack)
        path = self.stack_config_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            raise UnknownStackError(stack, self.stacks())
        return path


@dataclass(frozen=True)
class StackConfig:
    """A stack file's ``config:`` as the engine hands it to programs.

    ``values`` maps full keys to strings (structured values as JSON); ``secret_keys`` are the
    keys that held encrypted values; ``encrypted`` names each encrypted value by its key path;
    ``plaintexts`` pairs each decrypted string with its key path: they must never be written
    in clear."""

    values: Mapping[str, str]
    secret_keys: tuple[str, ...] = ()
    encrypted: tuple[str, ...] = ()
    plaintexts: tuple[tuple[str, str], ...] = ()


def find_project(start: Path | None = None) -> Project:
    """The nearest ``Pulumi.yaml`` at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    if start is not None and not here.is_dir():
        raise ProjectError(f"--project {display_path(here)} is not a folder")
    for folder in (here, *here.parents):
        candidate = folder / "Pulumi.yaml"
        if candidate.is_file():
            return _read_project(candidate)
    raise ProjectError(
        f"no Pulumi.yaml at or above {here}; run inside a prodstack project or pass --project"
    )


def _read(path: Path) -> Document:
    try:
        return read_yaml_file(path)
    except YamlFileError as exc:
        raise ProjectError(str(exc)) from None


def _read_project(path: Path) -> Project:
    document = _read(path)
    data = document.value
    where = document.source
    if not isinstance(data, dict):
        found = "nothing" if data is None else _kind(data)
        raise ProjectError(
            f"{where}:1: a project file is a mapping with name: and runtime:, found {found}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not _PULUMI_NAME.fullmatch(name):
        raise ProjectError(
            f"{document.where(('name',))}: name must be the project's name: 1 to 100 letters, "
            "digits, '-', '_' or '.'" + ("" if "name" in data else " (name: is missing)")
        )
    for key in ("main", "stackConfigDir"):
        if key in data and not isinstance(data[key], str):
            raise ProjectError(f"{document.where((key,))}: {key} must be a path (a string)")
    if data.get("config"):
        raise ProjectError(
            f"{document.where(('config',))}: project-level config (config: in Pulumi.yaml) is not "
            "read by prodstack's offline engine; move the values into the stack files"
        )
    root = path.parent
    return Project(
        root=root,
        name=name,
        main=root / str(data.get("main", ".")),
        stack_config_dir=root / str(data.get("stackConfigDir", ".")),
    )


def load_stack_config(
    project: Project, stack: str, *, allow_encrypted: bool = False
) -> StackConfig:
    """Read ``Pulumi.<stack>.yaml`` strictly into the engine's configuration.

    Encrypted values are decrypted with the Pulumi CLI when it can (see
    prodstack.synth.encrypted). When it cannot, a ProjectError names every encrypted key,
    unless ``allow_encrypted``: then each becomes an ``EncryptedPlaceholder`` text."""
    path = project.stack_file(stack)
    document = _read(path)
    raw = _config_section(document)
    problems: list[str] = []
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    encrypted: dict[str, list[KeyPath]] = {}
    seen: dict[str, str] = {}
    for key, value in raw.items():
        full_key, problem = _full_key(key, project.name)
        where = document.where(("config", key))
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        if full_key in seen:
            problems.append(
                f"{where}: {echo(key)} and {echo(seen[full_key])} are the same key "
                f"{full_key}; keep one"
            )
            continue
        seen[full_key] = key
        paths = list(_encrypted_paths(value))
        if paths:
            encrypted[full_key] = paths
            secret_keys.append(full_key)
        values[full_key] = _engine_string(value)
    if problems:
        raise ProjectError(_joined(document.source, problems))
    names = tuple(
        format_key_path((key, *path)) for key, paths in encrypted.items() for path in paths
    )
    if not encrypted:
        return StackConfig(values)
    try:
        decrypted = decrypt_with_pulumi(project.root, stack, path, list(encrypted))
    except DecryptionError as reason:
        if not allow_encrypted:
            raise ProjectError(_encrypted_message(document, encrypted, seen, str(reason))) from None
        for key in encrypted:
            values[key] = _engine_string(_with_placeholders(raw[seen[key]], key))
        return StackConfig(values, tuple(secret_keys), names)
    leaves = [
        (format_key_path((key, *path)), text)
        for key, paths in encrypted.items()
        for path in paths
        for text in secret_leaves(decrypted[key], [path])
    ]
    values.update(decrypted)
    return StackConfig(values, tuple(secret_keys), names, tuple(leaves))


def stack_config(
    project: Project, stack: str, *, allow_encrypted: bool = False
) -> tuple[dict[str, str], list[str]]:
    """``load_stack_config`` as ``(values, secret_keys)``."""
    loaded = load_stack_config(project, stack, allow_encrypted=allow_encrypted)
    return dict(loaded.values), list(loaded.secret_keys)


def _config_section(document: Document) -> dict[str, Any]:
    data = document.value
    if data is None:
        return {}  # an empty file: a stack without configuration
    if not isinstance(data, dict):
        raise ProjectError(
            f"{document.where(())}: the top level of a stack file is a mapping "
            f"(config:, secretsprovider:, ...), found {_kind(data)}"
        )
    problems = []
    for key in data:
        if key in _STACK_FILE_KEYS:
            continue
        hint = (
            "; indent it under config:"
            if ":" in key
            else f" (allowed: {', '.join(_STACK_FILE_KEYS)})"
        )
        problems.append(f"{document.where((key,))}: unknown top-level key {echo(key)}{hint}")
    if "environment" in data:
        problems.append(
            f"{document.where(('environment',))}: environment: (Pulumi ESC) cannot be opened by "
            "the offline engine; put the values under config: to render offline"
        )
    if problems:
        raise ProjectError(_joined(document.source, problems))
    if "config" not in data:
        return {}
    config = data["config"]
    if config is None:
        raise ProjectError(
            f"{document.where(('config',))}: config: is empty; indent the keys under it, or "
            "write config: {} for a stack without configuration"
        )
    if not isinstance(config, dict):
        raise ProjectError(
            f"{document.where(('config',))}: config: must be a mapping of namespace:key to "
            f"values, found {_kind(config)}"
        )
    return config


def _full_key(key: str, project_name: str) -> tuple[str, str | None]:
    """A stack file key as the engine names it, or a problem.

    A key without a namespace belongs to the project (sdk/go/common/workspace/loaders.go,
    ``stackConfigNamespacedWithProject``); ``ns:config:name`` is the old form of ``ns:name``
    and any other number of colons is refused (sdk/go/common/resource/config/key.go,
    ``ParseKey``)."""
    parts = key.split(":")
    if len(parts) == 1:
        namespace, name = project_name, key
    elif len(parts) == 2:
        namespace, name = parts
    elif len(parts) == 3 and parts[1] == "config":
        namespace, name = parts[0], parts[2]
    else:
        return key, f"{echo(key)} is not a configuration key; write namespace:name"
    if not namespace or not name:
        return key, f"{echo(key)} is not a configuration key; write namespace:name"
    full_key = f"{namespace}:{name}"
    suggestion = _misspelled_namespace(namespace, project_name)
    if suggestion:
        return full_key, (
            f"unknown namespace {echo(namespace)}: did you mean {suggestion}:{name}? "
            f"(its keys would be ignored)"
        )
    return full_key, None


def _misspelled_namespace(namespace: str, project_name: str) -> str | None:
    """prodstack's namespace or the project's, when ``namespace`` is a near miss of one."""
    known = {PRODSTACK_NAMESPACE, project_name}
    if namespace in known:
        return None
    for candidate in sorted(known):
        limit = 1 if len(candidate) < 6 else 2
        if _edit_distance(namespace.lower(), candidate.lower()) <= limit:
            return candidate
    return None


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                best = min(best, previous2[j - 2] + 1)
            current.append(best)
        previous2, previous = previous, current
    return previous[-1]


def _is_secure(value: Any) -> bool:
    """Pulumi's ciphertext form: a mapping with the single key ``secure``
    (sdk/go/common/resource/config/object.go, ``isSecureValue``)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _encrypted_paths(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    if _is_secure(value):
        return [path]
    if isinstance(value, dict):
        return [
            found for key, item in value.items() for found in _encrypted_paths(item, (*path, key))
        ]
    if isinstance(value, list):
        return [
            found
            for index, item in enumerate(value)
            for found in _encrypted_paths(item, (*path, index))
        ]
    return []


def _with_placeholders(value: Any, key_path: str) -> Any:
    if _is_secure(value):
        return EncryptedPlaceholder(key_path).text
    if isinstance(value, dict):
        return {k: _with_placeholders(v, format_key_path((key_path, k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_placeholders(v, f"{key_path}[{i}]") for i, v in enumerate(value)]
    return value


def _engine_string(value: Any) -> str:
    """The string the Pulumi engine passes for a value: strings as they are, anything else
    as JSON with sorted keys, as Go's encoding/json writes maps
    (sdk/go/common/resource/config/object.go, ``MarshalString``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _encrypted_message(
    document: Document,
    encrypted: Mapping[str, Sequence[KeyPath]],
    written_as: Mapping[str, str],
    reason: str,
) -> str:
    lines = [
        f"  {document.where(('config', written_as[key], *path))}: {format_key_path((key, *path))}"
        for key, paths in encrypted.items()
        for path in paths
    ]
    return (
        f"{document.source}: {len(lines)} encrypted value(s) that the offline engine cannot "
        f"decrypt ({reason}):\n" + "\n".join(lines) + "\n"
        "To proceed: install the Pulumi CLI and log in to the stack's backend (with "
        "PULUMI_CONFIG_PASSPHRASE for passphrase stacks) so that prodstack can decrypt them, "
        "or keep secrets in the secret store (e.g. a vault: reference) instead of the stack file."
    )


def _joined(source: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{source}: {len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"the string {echo(value)}"
    return f"the value {echo(value)}"
