"""Reading Pulumi's YAML files strictly: one meaning per value, or an error with its line.

The Pulumi CLI reads stack files with Go's yaml.v3, which follows YAML 1.2 for plain scalars
but keeps some YAML 1.1 readings (``010`` is octal, ``1_000`` is 1000, and an explicit
timestamp becomes Go's ``time.Time`` text: sdk/go/common/resource/config/object.go,
``unmarshalObject``); PyYAML reads YAML 1.1 (``yes`` is true, ``2024-01-01`` a date). A value
that these readers disagree on is refused here with "quote it", so the offline engine and
``pulumi up`` always see the same configuration. What is accepted is read with the YAML 1.2
core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).

The values are built from PyYAML's event stream rather than its composer, which recurses once
per nesting level (deep input would end in RecursionError) and keeps the last of duplicate
keys. Here nesting, alias expansion and duplicates are checked as the events arrive.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

MAX_DEPTH = 64
MAX_VALUES = 100_000  # values after alias expansion: a bound on "billion laughs" files
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ECHO = 40
MAX_LISTED = 20
# What a JSON number keeps exactly (structured config reaches programs as JSON).
MAX_SAFE_INTEGER = 2**53

Key = str | int
KeyPath = tuple[Key, ...]

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_MAP_TAGS = {None, "!", f"{_CORE}map"}
_SEQ_TAGS = {None, "!", f"{_CORE}seq"}

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_YAML11_BOOL = re.compile(r"(?i:y|n|yes|no|on|off)")
_INT10 = re.compile(r"[-+]?[0-9]+")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
# Numbers YAML 1.1 and yaml.v3 read but YAML 1.2 leaves as strings.
_YAML11_NUMBER = re.compile(r"[-+]?(0b[01_]+|[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?)")
# YAML 1.1's timestamp (https://yaml.org/type/timestamp.html).
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?"
    r"([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?"
)


class YamlFileError(ValueError):
    """A YAML file that cannot be read with one meaning. ``problems`` holds one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            text = problems[0]
        else:
            shown = problems[:MAX_LISTED]
            more = len(problems) - len(shown)
            lines = "\n".join(f"  {problem}" for problem in shown)
            tail = f"\n  ... and {more} more" if more else ""
            text = f"{source}: {len(problems)} problems:\n{lines}{tail}"
        super().__init__(text)


@dataclass(frozen=True)
class Document:
    """A file's value, and where each key or item starts (1-based line and column)."""

    source: str
    value: Any
    positions: dict[KeyPath, tuple[int, int]]

    def where(self, path: KeyPath) -> str:
        """``file:line:column`` of the value at ``path`` (or of its nearest parent)."""
        while path not in self.positions and path:
            path = path[:-1]
        line, column = self.positions.get(path, (1, 1))
        return f"{self.source}:{line}:{column}"


def echo(value: object) -> str:
    """A value quoted for a message, cut short when long."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_ECHO:
        text = text[: MAX_ECHO - 3] + "..."
    return repr(text) if isinstance(value, str) else text


def format_key_path(path: KeyPath, *, limit: int | None = None) -> str:
    """``('config', 'prodstack:app', 'steps', 2)`` -> ``prodstack:app.steps[2]``; with
    ``limit``, a path of more parts keeps its first and last ones around ``...``."""
    if path[:1] == ("config",) and len(path) > 1:
        path = path[1:]
    parts = [
        f"[{part}]" if isinstance(part, int) else (f".{part}" if index else part)
        for index, part in enumerate(path)
    ]
    if limit is not None and len(parts) > limit:
        parts = [*parts[: limit - 3], "...", *parts[-2:]]
    return "".join(parts)


def display_path(path: Path) -> str:
    """A path for messages: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def read_yaml_file(path: Path) -> Document:
    """Read ``path`` strictly; an empty file gives ``None``. Raises YamlFileError."""
    source = display_path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlFileError(source, [f"{source}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise YamlFileError(
            source, [f"{source}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a Pulumi file"]
        )
    return load_yaml(data, source)


def load_yaml(data: bytes, source: str) -> Document:
    """Parse one YAML document from bytes (UTF-8, an optional byte-order mark)."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # as the Pulumi CLI does (readFileStripUTF8BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlFileError(
            source,
            [
                f"{source}:{line}: not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; "
                "save the file as UTF-8"
            ],
        ) from None
    return _Builder(source).build(text)


@dataclass
class _Frame:
    kind: str  # "map" or "seq"
    value: Any
    path: KeyPath
    anchor: str | None
    start: int  # the value count when the frame opened
    height: int = 0
    key: Key | None = None
    has_key: bool = False
    key_lines: dict[Key, int] = field(default_factory=dict)


@dataclass
class _Anchor:
    value: Any
    size: int
    height: int
    open: bool


class _Fatal(Exception):
    """Stops the build: the rest of the file cannot be read with one meaning."""


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.anchors: dict[str, _Anchor] = {}
        self.stack: list[_Frame] = []
        self.count = 0
        self.root: Any = None
        self.documents = 0

    def build(self, text: str) -> Document:
        try:
            for event in _events(text):
                self._event(event)
        except _Fatal:
            pass
        except yaml.MarkedYAMLError as exc:
            where = self._at(exc.problem_mark or exc.context_mark)
            what = exc.problem or exc.context or "not valid YAML"
            context = f" ({exc.context})" if exc.context and exc.problem else ""
            self.problems.append(f"{where}: not valid YAML: {what}{context}")
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            self.problems.append(
                f"{self.source}:{line}: not valid YAML: character U+{code:04X} is not allowed "
                'in YAML; write it escaped in a double-quoted string (e.g. "\\u0000")'
            )
        except yaml.YAMLError as exc:
            self.problems.append(f"{self.source}: not valid YAML: {str(exc)[:200]}")
        if self.problems:
            raise YamlFileError(self.source, self.problems)
        return Document(self.source, self.root, self.positions)

    # -- events ---------------------------------------------------------------------------

    def _event(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self._fatal(event, "a second YAML document ('---'); a Pulumi file holds one")
            return
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            return
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self._close()
            return
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.kind == "map" and not parent.has_key:
            self._key(parent, event)
            return
        path = self._child_path(parent)
        self.positions.setdefault(path, self._position(event))  # a key's own line wins
        if isinstance(event, yaml.ScalarEvent):
            self._count(event, 1)
            value = self._scalar(event, path)
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchor(value, 1, 0, open=False)
            self._attach(value, 0)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event, path)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._open(event, path)

    def _key(self, frame: _Frame, event: yaml.Event) -> None:
        path = (*frame.path, "?")
        if not isinstance(event, yaml.ScalarEvent):
            kind = "an alias" if isinstance(event, yaml.AliasEvent) else "a mapping or list"
            self._fatal(event, f"{self._name(frame.path)}: a key is {kind}; keys must be strings")
        key: Any = self._scalar(event, path, as_key=True)
        line = self._position(event)[0]
        if not isinstance(key, str):
            self._problem(
                event,
                f"{self._name(frame.path)}: the key {echo(event.value)} is read as "
                f"{_type_name(key)}; keys must be strings: quote it",
            )
            key = event.value
        elif key == "<<" and event.implicit[0]:
            self._problem(
                event,
                f"{self._name(frame.path)}: merge keys ('<<') are not supported; write the keys",
            )
        if key in frame.key_lines:
            first = frame.key_lines[key]
            self._problem(
                event,
                f"{self._name((*frame.path, key))}: duplicate key {echo(key)} "
                f"(lines {first} and {line}); keep one",
            )
        else:
            frame.key_lines[key] = line
        frame.key = key
        frame.has_key = True
        self.positions[(*frame.path, key)] = self._position(event)

    def _open(self, event: yaml.Event, path: KeyPath) -> None:
        assert isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if len(self.stack) >= MAX_DEPTH:
            self._fatal(event, f"{self._name(path)}: nested deeper than {MAX_DEPTH} levels")
        is_map = isinstance(event, yaml.MappingStartEvent)
        allowed = _MAP_TAGS if is_map else _SEQ_TAGS
        if event.tag not in allowed:
            self._problem(event, f"{self._name(path)}: {_tag_problem(event.tag)}")
        self._count(event, 1)
        self.stack.append(
            _Frame("map" if is_map else "seq", {} if is_map else [], path, event.anchor, self.count)
        )
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(None, 0, 0, open=True)

    def _close(self) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            size = self.count - frame.start + 1
            self.anchors[frame.anchor] = _Anchor(frame.value, size, frame.height, open=False)
        self._attach(frame.value, frame.height)

    def _alias(self, event: yaml.AliasEvent, path: KeyPath) -> None:
        anchor = self.anchors.get(event.anchor or "")
        if anchor is None:
            self._fatal(
                event, f"{self._name(path)}: alias *{event.anchor} names no anchor above it"
            )
        if anchor.open:
            self._fatal(
                event,
                f"{self._name(path)}: alias *{event.anchor} refers to a value that contains it; "
                "recursive aliases are not allowed",
            )
        if len(self.stack) + anchor.height > MAX_DEPTH:
            self._fatal(event, f"{self._name(path)}: nested deeper than {MAX_DEPTH} levels")
        self._count(event, anchor.size)
        self._attach(anchor.value, anchor.height)

    def _attach(self, value: Any, height: int) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame.height = max(frame.height, height + 1)
        if frame.kind == "map":
            frame.value[frame.key] = value
            frame.has_key = False
        else:
            frame.value.append(value)

    def _count(self, event: yaml.Event, size: int) -> None:
        self.count += size
        if self.count > MAX_VALUES:
            self._fatal(
                event, f"more than {MAX_VALUES} values (after expanding aliases); not a config file"
            )

    # -- scalars --------------------------------------------------------------------------

    def _scalar(self, event: yaml.ScalarEvent, path: KeyPath, *, as_key: bool = False) -> Any:
        text = event.value
        name = self._name(path[:-1] if as_key else path)
        what = "the key" if as_key else "the value"
        tag = event.tag
        if tag is not None and tag != "!":
            if tag not in _ALLOWED_TAGS:
                self._problem(event, f"{name}: {_tag_problem(tag)}")
                return text
            return self._tagged(event, tag, name)
        if not event.implicit[0]:  # quoted, literal or folded: a string
            return text
        if text in _NULL:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if _YAML11_BOOL.fullmatch(text):
            self._problem(
                event,
                f"{name}: {what} {text} is a boolean in YAML 1.1 and a string in YAML 1.2; "
                f'write true/false or quote the string ("{text}")',
            )
            return text
        if _LEADING_ZERO.fullmatch(text):
            self._problem(
                event,
                f"{name}: {what} {text} is octal in YAML 1.1 (and for the Pulumi CLI) but "
                f"decimal in YAML 1.2; write it without the leading zero or quote it",
            )
            return text
        if _INT10.fullmatch(text):
            return self._integer(event, name, int(text), text)
        if _INT8.fullmatch(text):
            return self._integer(event, name, int(text[2:], 8), text)
        if _INT16.fullmatch(text):
            return self._integer(event, name, int(text[2:], 16), text)
        if _FLOAT.fullmatch(text):
            return self._float(event, name, float(text), text)
        if _INF.fullmatch(text) or _NAN.fullmatch(text):
            self._problem(
                event, f"{name}: {text} is not a number JSON can carry; write a finite number"
            )
            return text
        if _YAML11_NUMBER.fullmatch(text):
            self._problem(
                event,
                f"{name}: {what} {echo(text)} is a number in YAML 1.1 and a string in YAML 1.2; "
                "write the number without '_' (or in decimal), or quote it",
            )
            return text
        if _TIMESTAMP.fullmatch(text):
            self._problem(
                event,
                f"{name}: {what} {text} is a date in YAML 1.1 (PyYAML reads a date, the Pulumi "
                f'CLI a string); quote it ("{text}")',
            )
            return text
        return text

    def _tagged(self, event: yaml.ScalarEvent, tag: str, name: str) -> Any:
        text = event.value
        short = "!!" + tag.removeprefix(_CORE)
        if tag.endswith(":str"):
            return text
        if tag.endswith(":null") and text in _NULL:
            return None
        if tag.endswith(":bool") and text in _TRUE | _FALSE:
            return text in _TRUE
        if tag.endswith(":int"):
            for pattern, base, skip in ((_INT10, 10, 0), (_INT8, 8, 2), (_INT16, 16, 2)):
                if pattern.fullmatch(text):
                    return self._integer(event, name, int(text[skip:], base), text)
        if tag.endswith(":float") and (_FLOAT.fullmatch(text) or _INT10.fullmatch(text)):
            return self._float(event, name, float(text), text)
        self._problem(event, f"{name}: {echo(text)} is not a valid {short}")
        return text

    def _integer(self, event: yaml.ScalarEvent, name: str, value: int, text: str) -> int:
        if abs(value) > MAX_SAFE_INTEGER:
            self._problem(
                event,
                f"{name}: {_cut(text)} is outside -2^53..2^53, the integers JSON numbers keep "
                "exactly; use a smaller number, or quote it if it is an identifier",
            )
        return value

    def _float(self, event: yaml.ScalarEvent, name: str, value: float, text: str) -> float | int:
        if not math.isfinite(value):
            self._problem(event, f"{name}: {_cut(text)} is too large for a number")
            return 0
        if value.is_integer() and abs(value) < 1e21:
            # Go's encoding/json writes such a float without a fraction, so the program
            # receives an integer from `pulumi up`; the offline engine passes the same.
            return self._integer(event, name, int(value), text)
        return value

    # -- messages -------------------------------------------------------------------------

    def _child_path(self, parent: _Frame | None) -> KeyPath:
        if parent is None:
            return ()
        if parent.kind == "map":
            assert parent.key is not None
            return (*parent.path, parent.key)
        return (*parent.path, len(parent.value))

    def _name(self, path: KeyPath) -> str:
        name = format_key_path(path, limit=8) or "the top level"
        return name if len(name) <= 120 else f"{name[:60]}...{name[-40:]}"

    def _position(self, event: yaml.Event) -> tuple[int, int]:
        mark = event.start_mark
        return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)

    def _at(self, mark: Any) -> str:
        if mark is None:
            return self.source
        return f"{self.source}:{mark.line + 1}:{mark.column + 1}"

    def _problem(self, event: yaml.Event, message: str) -> None:
        self.problems.append(f"{self._at(event.start_mark)}: {message}")

    def _fatal(self, event: yaml.Event, message: str) -> NoReturn:
        self._problem(event, message)
        raise _Fatal


def _events(text: str) -> Iterator[yaml.Event]:
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_event():
            yield loader.get_event()  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()


def _cut(text: str) -> str:
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def _tag_problem(tag: str | None) -> str:
    shown = "!!" + tag.removeprefix(_CORE) if tag and tag.startswith(_CORE) else str(tag)
    return (
        f"the tag {echo(shown)} is not allowed; write plain strings, numbers, booleans, "
        "null, mappings and lists (tags !!str, !!int, !!float, !!bool, !!null, !!map, !!seq)"
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__
