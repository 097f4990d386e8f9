"""Renders the subset of Go's text/template that prodstack's ExternalSecret templates use
(``{{ .key }}`` and ``{{ .key | urlquery }}``), with Go's semantics: a missing key is an error,
as External Secrets reports it, and ``urlquery`` is ``url.QueryEscape``. Any other action is
refused, so a template that strays from the subset fails the tests instead of passing unread."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote_plus

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SUPPORTED = re.compile(r"^\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*(\|\s*(urlquery)\s*)?$")


def variables(template: str) -> set[str]:
    """The data keys a template reads."""
    return {_parse(action)[0] for action in _ACTION.findall(template)}


def render(template: str, data: Mapping[str, str]) -> str:
    def action(match: re.Match[str]) -> str:
        key, escape = _parse(match.group(1))
        if key not in data:
            raise KeyError(f"template reads .{key}, which the ExternalSecret does not fetch")
        value = data[key]
        # Go's url.QueryEscape keeps A-Z a-z 0-9 - _ . ~ and writes a space as '+'.
        return quote_plus(value, safe="") if escape else value

    rendered = _ACTION.sub(action, template)
    if "{{" in rendered or "}}" in rendered:
        raise ValueError(f"unbalanced action in {template!r}")
    return rendered


def _parse(action: str) -> tuple[str, bool]:
    match = _SUPPORTED.match(action)
    if match is None:
        raise ValueError(f"unsupported template action {{{{{action}}}}}")
    return match.group(1), match.group(3) is not None
