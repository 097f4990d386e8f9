"""Encrypted stack values (``secure: v1:...``): decrypted by the Pulumi CLI, or kept out of output.

Only the stack's secrets provider can decrypt a value, and only the Pulumi CLI talks to it. When
a ``pulumi`` command is on PATH and can open the stack, ``pulumi config --show-secrets --json``
gives the values as the engine would pass them (pkg/cmd/pulumi/config/config.go, ``listConfig``:
one ``{"value": ..., "secret": ...}`` per full key, structured values as JSON text). Otherwise a
caller that allows it gets a placeholder naming the key (``EncryptedPlaceholder``), which
``prodstack.render`` refuses to write into a manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodstack.synth.values import Secret

PLACEHOLDER_PREFIX = "[prodstack: encrypted value not decrypted: "
_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX) + r"([^\]]+)\]")
PULUMI_TIMEOUT_SECONDS = 120


class DecryptionError(Exception):
    """The Pulumi CLI could not decrypt the stack's values; the message says why."""


@dataclass(frozen=True)
class EncryptedPlaceholder:
    """The text a program receives in place of an encrypted value it could not have decrypted.

    ``key`` is the value's full key path (``prodstack:dbBackup.password``). The text survives
    JSON and string formatting, so ``find`` spots it anywhere in a manifest's values."""

    key: str

    @property
    def text(self) -> str:
        return f"{PLACEHOLDER_PREFIX}{self.key}]"

    @classmethod
    def find(cls, value: Any) -> list[EncryptedPlaceholder]:
        """Every placeholder in ``value``'s strings (through mappings, lists and secrets)."""
        return [cls(match) for text in _strings(value) for match in _PLACEHOLDER.findall(text)]


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Secret):
            stack.append(item.value)
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))


def decrypt_with_pulumi(
    project_root: Path, stack: str, stack_file: Path, keys: Sequence[str]
) -> dict[str, str]:
    """The engine's string for each of ``keys`` (full config keys), decrypted by the Pulumi CLI.

    Raises DecryptionError when there is no CLI or it cannot open the stack's secrets."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise DecryptionError("there is no pulumi CLI on PATH")
    command = [
        pulumi,
        "config",
        "--show-secrets",
        "--json",
        "--open=false",  # ESC environments are not read offline either
        "--stack",
        stack,
        "--config-file",
        str(stack_file),
        "--cwd",
        str(project_root),
        "--non-interactive",
    ]
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
    except subprocess.TimeoutExpired:
        raise DecryptionError(
            f"pulumi config --show-secrets did not answer in {PULUMI_TIMEOUT_SECONDS} s"
        ) from None
    except OSError as exc:
        raise DecryptionError(f"pulumi could not be started: {exc.strerror or exc}") from None
    if completed.returncode != 0:
        first = next((line for line in completed.stderr.splitlines() if line.strip()), "")
        raise DecryptionError(
            f"pulumi config --show-secrets failed (exit {completed.returncode}): {first[:200]}"
        )
    try:
        listed = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise DecryptionError("pulumi config --json printed something that is not JSON") from None
    values: dict[str, str] = {}
    for key in keys:
        entry = listed.get(key) if isinstance(listed, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str):
            raise DecryptionError(f"pulumi config --show-secrets did not return {key}")
        values[key] = value
    return values


def secret_leaves(engine_value: str, paths: Sequence[tuple[str | int, ...]]) -> list[str]:
    """The decrypted strings at ``paths`` inside one key's value (``()`` for the whole value):
    what must never be written in clear. Strings under 4 characters are left out, as they would
    match everywhere."""
    if any(not path for path in paths):
        return [engine_value] if len(engine_value) >= 4 else []
    try:
        decoded: Any = json.loads(engine_value)
    except json.JSONDecodeError:
        return []
    found: list[str] = []
    for path in paths:
        node = decoded
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        found.extend(text for text in _strings(node) if len(text) >= 4)
    return found
