"""A TCP proxy on localhost that resets every connection once its clients have sent a given
number of bytes: S3 dropping the connections of an upload half-way, as a network fault would.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class Proxy:
    upstream: tuple[str, int]
    reset_after: int
    port: int = 0
    sent: int = 0
    tripped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, size: int) -> bool:
        """Count bytes sent upstream; False once the budget is spent."""
        with self.lock:
            self.sent += size
            if self.sent >= self.reset_after:
                self.tripped.set()
            return not self.tripped.is_set()


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset by peer'."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        client: socket.socket = self.request
        if proxy.tripped.is_set():
            _reset(client)
            return
        upstream = socket.create_connection(proxy.upstream)
        done = threading.Event()

        def answers() -> None:
            try:
                while not done.is_set() and (data := upstream.recv(65536)):
                    client.sendall(data)
            except OSError:
                pass
            done.set()

        thread = threading.Thread(target=answers, daemon=True)
        thread.start()
        try:
            while not done.is_set() and (data := client.recv(65536)):
                if not proxy.count(len(data)):
                    break
                upstream.sendall(data)
        except OSError:
            pass
        done.set()
        _reset(client)
        upstream.close()
        thread.join(timeout=5)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: Proxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy


@contextmanager
def flaky_proxy(upstream: tuple[str, int], reset_after: int) -> Iterator[Proxy]:
    proxy = Proxy(upstream=upstream, reset_after=reset_after)
    server = _Server(proxy)
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
