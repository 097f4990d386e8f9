"""Regenerate a schema folder from upstream CRD release manifests and their provenance.

The provenance is a small YAML file, one entry per input file name::

    argo-rollouts-rollout-crd.yaml:
      project: argoproj/argo-rollouts
      path: manifests/crds/rollout-crd.yaml
      commit: 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d
      date: 2026-08-17
      release: unreleased main at 2026-08-17 (after v1.10.0-rc1)

Kinds the inputs define replace their entries; the other kinds in the folder stay as they are
(``replace_all`` drops them). The result depends only on the inputs and the folder: files are
written with sorted keys, and schema files no entry names any more are removed.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from prodstack.check.schema.compact import INDEX, CRDError, Source, build, index_text

SOURCE_KEYS = ("project", "path", "commit", "date", "release")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class RefreshError(ValueError):
    """Bad inputs to a refresh: named file, key and fix in the message."""


def read_sources(path: Path) -> dict[str, Source]:
    """The provenance file: input file name -> Source."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RefreshError(f"{path}: cannot read the provenance file: {exc}") from None
    if not isinstance(raw, Mapping) or not raw:
        raise RefreshError(f"{path}: expected a mapping of input file names to their source")
    sources = {}
    for name, entry in raw.items():
        where = f"{path}: {name}"
        if not isinstance(entry, Mapping):
            raise RefreshError(f"{where}: expected the keys {', '.join(SOURCE_KEYS)}")
        missing = [key for key in SOURCE_KEYS if not entry.get(key)]
        unknown = sorted(set(entry) - set(SOURCE_KEYS))
        if missing or unknown:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(unknown)}"] if unknown else []
            raise RefreshError(f"{where}: {'; '.join(problems)} (keys: {', '.join(SOURCE_KEYS)})")
        date = entry["date"]
        if isinstance(date, datetime.date):
            date = date.isoformat()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(date)):
            raise RefreshError(f"{where}.date: {date!r} is not a date such as 2026-08-17")
        if not _COMMIT.match(str(entry["commit"])):
            raise RefreshError(f"{where}.commit: {entry['commit']!r} is not a git commit id")
        sources[str(name)] = Source(
            project=str(entry["project"]),
            path=str(entry["path"]),
            commit=str(entry["commit"]),
            date=str(date),
            release=str(entry["release"]),
        )
    return sources


def refresh(
    folder: Path, inputs: Sequence[Path], sources: Mapping[str, Source], replace_all: bool = False
) -> list[str]:
    """Rewrite the folder from the inputs; returns the names of the files written or removed."""
    unnamed = [p.name for p in inputs if p.name not in sources]
    if unnamed:
        raise RefreshError(
            f"no provenance for {', '.join(unnamed)}: add an entry per input file name "
            f"({', '.join(SOURCE_KEYS)})"
        )
    try:
        fresh = build((p.name, p.read_bytes(), sources[p.name]) for p in inputs)
    except (OSError, CRDError) as exc:
        raise RefreshError(str(exc)) from None
    new_entries = json.loads(fresh.pop(INDEX))["kinds"]
    renewed = {(e["group"], e["kind"]) for e in new_entries}
    kept = [] if replace_all else _existing(folder)
    kept = [e for e in kept if (e["group"], e["kind"]) not in renewed]
    files = dict(fresh)
    for entry in kept:
        if entry.get("file"):
            files[entry["file"]] = (folder / entry["file"]).read_text()
    files[INDEX] = index_text([*kept, *new_entries])
    return _write(folder, files)


def _existing(folder: Path) -> list[dict[str, Any]]:
    index = folder / INDEX
    if not index.is_file():
        return []
    entries: list[dict[str, Any]] = json.loads(index.read_text())["kinds"]
    return entries


def _write(folder: Path, files: Mapping[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in sorted(files.items()):
        target = folder / name
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            changed.append(name)
    for stale in sorted(folder.glob("*.json")):
        if stale.name not in files:
            stale.unlink()
            changed.append(stale.name)
    return changed
