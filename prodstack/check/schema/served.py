"""Fields an object uses that the declared controller versions do not serve yet
(``prodstack.check.versions`` says which release serves which field, and why)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prodstack.check.schema.paths import format_path, reach
from prodstack.check.schema.validate import describe
from prodstack.check.versions import (
    CONTROLLER_BY_KEY,
    REQUIREMENTS,
    DeclaredVersions,
    Requirement,
    parse,
)
from prodstack.kinds import api_group


@dataclass(frozen=True)
class Unserved:
    """A field of an object that needs a newer release than the declared one."""

    subject: str
    path: str
    requirement: Requirement
    declared: str

    @property
    def message(self) -> str:
        name = CONTROLLER_BY_KEY[self.requirement.controller].name
        return (
            f"{self.path} needs {name} {self.requirement.version} or later "
            f"(declared {self.declared}): {self.requirement.reason}"
        )


def unserved_fields(
    document: Mapping[str, Any], versions: DeclaredVersions | None = None
) -> list[Unserved]:
    """Every field of the object a declared version does not serve, in table order."""
    versions = versions or DeclaredVersions()
    kind = f"{api_group(str(document.get('apiVersion', '')))}/{document.get('kind', '')}"
    found = []
    for requirement in REQUIREMENTS:
        declared = versions.of(requirement.controller)
        if parse(declared) >= parse(requirement.version):
            continue
        for place, pattern in requirement.places:
            if place != kind:
                continue
            for path, value in reach(document, pattern):
                if requirement.equals is None or value == requirement.equals:
                    found.append(
                        Unserved(describe(document), format_path(path), requirement, declared)
                    )
    return found
