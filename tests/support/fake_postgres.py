"""A PostgreSQL server of any version, as far as a version check can tell: it speaks enough of
the frontend/backend protocol (version 3) for psql to log in and run simple queries.

Debian bookworm ships one PostgreSQL major version, so a server newer than its pg_dump has to
be simulated. This one reports the configured ``server_version`` at startup (ParameterStatus,
where libpq and psql read it) and answers ``SELECT`` lists made of ``current_setting('...')``,
``version()``, ``pg_is_in_recovery()`` and ``pg_database_size(...)`` calls, as a real server
would; anything else gets an error, so a script that goes further than its version check shows.

Protocol: https://www.postgresql.org/docs/current/protocol-message-formats.html
"""

from __future__ import annotations

import re
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608
TEXT_OID = 25
_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)


@dataclass
class FakeServer:
    version: str
    port: int = 0
    queries: list[str] = field(default_factory=list)

    @property
    def version_num(self) -> int:
        major, _, minor = self.version.partition(".")
        return int(major) * 10000 + int(minor or 0)

    def settings(self) -> dict[str, str]:
        return {
            "server_version": self.version,
            "server_version_num": str(self.version_num),
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
            "TimeZone": "UTC",
        }

    def evaluate(self, item: str) -> str:
        match = _CALL.match(item)
        if match is None:
            raise ValueError(item)
        name, argument = match.group(1).lower(), match.group(2).strip()
        if name == "current_setting":
            return self.settings()[argument.strip("'")]
        if name == "version":
            return f"PostgreSQL {self.version} (fake)"
        if name == "pg_is_in_recovery":
            return "f"
        if name == "pg_database_size":
            return "8000000"
        raise ValueError(item)

    def answer(self, sql: str) -> list[str]:
        """The one row a ``SELECT a, b, ...`` of known calls returns."""
        body = sql.strip().rstrip(";")
        if not body.upper().startswith("SELECT"):
            raise ValueError(sql)
        return [self.evaluate(item) for item in _split_top_level(body[len("SELECT") :])]


def _split_top_level(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return [item.strip() for item in items]


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def _cstring(text: str) -> bytes:
    return text.encode() + b"\0"


class _Session(socketserver.BaseRequestHandler):
    server: _Server

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.request.recv(count - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def handle(self) -> None:
        fake = self.server.fake
        try:
            while True:  # SSL and GSS encryption requests are declined, then the startup
                length, code = struct.unpack("!ii", self._read(8))
                rest = self._read(length - 8)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.request.sendall(b"N")
                    continue
                if code != PROTOCOL_3:
                    return
                del rest
                break
            reply = _message(b"R", struct.pack("!i", 0))  # AuthenticationOk
            for name, value in fake.settings().items():
                reply += _message(b"S", _cstring(name) + _cstring(value))
            reply += _message(b"K", struct.pack("!ii", 4242, 4242))
            reply += _message(b"Z", b"I")
            self.request.sendall(reply)
            while True:
                kind = self._read(1)
                (length,) = struct.unpack("!i", self._read(4))
                payload = self._read(length - 4)
                if kind == b"X":
                    return
                if kind != b"Q":
                    self._error("fake server: only simple queries")
                    continue
                sql = payload.rstrip(b"\0").decode()
                fake.queries.append(sql)
                try:
                    row = fake.answer(sql)
                except (ValueError, KeyError):
                    self._error(f"fake server {fake.version}: cannot answer {sql!r}")
                    continue
                columns = b"".join(
                    _cstring(f"c{i}") + struct.pack("!ihihih", 0, 0, TEXT_OID, -1, -1, 0)
                    for i in range(len(row))
                )
                values = b"".join(struct.pack("!i", len(v.encode())) + v.encode() for v in row)
                self.request.sendall(
                    _message(b"T", struct.pack("!h", len(row)) + columns)
                    + _message(b"D", struct.pack("!h", len(row)) + values)
                    + _message(b"C", _cstring("SELECT 1"))
                    + _message(b"Z", b"I")
                )
        except ConnectionError:
            return

    def _error(self, text: str) -> None:
        fields = b"SERROR\0" + b"C0A000\0" + b"M" + _cstring(text) + b"\0"
        self.request.sendall(_message(b"E", fields) + _message(b"Z", b"I"))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeServer) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.fake = fake


@contextmanager
def fake_postgres(version: str) -> Iterator[FakeServer]:
    """A fake server reporting ``version`` on a free localhost port, stopped afterwards."""
    fake = FakeServer(version)
    server = _Server(fake)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
