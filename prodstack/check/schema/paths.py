"""JSON paths in manifests: written as ``spec.containers[0].name`` (keys that are not plain
names quoted: ``metadata.annotations["example.com/key"]``), and patterns over them where ``[]``
is each item of a list and ``*`` globs within a key."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_TOKEN = re.compile(r'\.?([^.\["]+)|\["([^"]+)"\]|(\[\])')


def format_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def steps(pattern: str) -> list[str | None]:
    """A pattern's steps: a key (``*`` globs), or None for each item of a list."""
    found: list[str | None] = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if not match:
            raise ValueError(f"bad path pattern {pattern!r} at character {position}")
        plain, quoted, each = match.groups()
        found.append(None if each else (plain or quoted))
        position = match.end()
    return found


def reach(document: Any, pattern: str) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every place the pattern reaches in the document."""
    places: list[tuple[Path, Any]] = [((), document)]
    for step in steps(pattern):
        reached: list[tuple[Path, Any]] = []
        for path, value in places:
            if step is None and isinstance(value, list):
                reached.extend(((*path, i), item) for i, item in enumerate(value))
            elif step is not None and isinstance(value, Mapping):
                reached.extend(
                    ((*path, key), child)
                    for key, child in value.items()
                    if fnmatch.fnmatchcase(str(key), step)
                )
        places = reached
    return iter(places)
