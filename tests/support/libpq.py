"""libpq's own parser of connection strings (``PQconninfoParse``), through ctypes: what a
PostgreSQL client really makes of a ``database-url``."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import pytest


class _Option(ctypes.Structure):
    _fields_ = [
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    ]


def load() -> ctypes.CDLL:
    """libpq, or a skip (a failure under CI=true, where install-tools.sh provides it)."""
    name = ctypes.util.find_library("pq")
    if name is None:
        message = "libpq (Debian libpq5) is not installed; run scripts/install-tools.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    library = ctypes.CDLL(name)
    library.PQconninfoParse.restype = ctypes.POINTER(_Option)
    library.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
    library.PQconninfoFree.argtypes = [ctypes.POINTER(_Option)]
    library.PQfreemem.argtypes = [ctypes.c_void_p]
    return library


def parse(library: ctypes.CDLL, conninfo: str) -> dict[str, str]:
    """The options libpq reads from ``conninfo``; ValueError with libpq's message if invalid."""
    error = ctypes.c_char_p()
    options = library.PQconninfoParse(conninfo.encode(), ctypes.byref(error))
    if not options:
        message = (error.value or b"invalid connection string").decode().strip()
        if error:
            library.PQfreemem(error)
        raise ValueError(message)
    try:
        parsed: dict[str, str] = {}
        index = 0
        while options[index].keyword is not None:
            option = options[index]
            if option.val is not None:
                parsed[option.keyword.decode()] = option.val.decode()
            index += 1
        return parsed
    finally:
        library.PQconninfoFree(options)
