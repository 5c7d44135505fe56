"""A loopback TCP server standing in for a PostgreSQL server that accepts connections and never
answers; `relay_to(host, port)` turns it into a plain relay to a real server (the database
"comes back") for connections made from then on."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class UnansweringDatabase:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._target: tuple[str, int] | None = None
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="unanswering-db", daemon=True).start()

    def url(self, database: str = "pipeday", query: str = "") -> str:
        return f"postgresql+psycopg://pipeday@127.0.0.1:{self.port}/{database}{'?' + query if query else ''}"

    def relay_to(self, host: str, port: int) -> None:
        with self._lock:
            self._target = (host, port)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for held in self._held:
                with contextlib.suppress(OSError):
                    held.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                target = self._target
                self._held.append(client)
            if target is not None:
                upstream = socket.create_connection(target)
                with self._lock:
                    self._held.append(upstream)
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()
            # else: hold the connection open and never say a word


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextmanager
def unanswering_database() -> Iterator[UnansweringDatabase]:
    server = UnansweringDatabase()
    try:
        yield server
    finally:
        server.close()
