"""A loopback TCP proxy to a real server that can go silent: it stops forwarding
without closing anything, as a server that hangs or a network that drops packets
does (no reset, no FIN: a client without its own timeout waits for ever)."""

from __future__ import annotations

import contextlib
import socket
import threading


class SilentProxy:
    """Forwards 127.0.0.1:<port> to `host:port` until `go_silent()`; `speak()` forwards again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self._silent = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def go_silent(self) -> None:
        """From now on nothing passes, in either direction, and every socket stays open."""
        self._silent.set()

    def speak(self) -> None:
        """The server is back: new connections are forwarded (the silent ones stay dead)."""
        with self._lock:
            dead, self._sockets = self._sockets, []
        self._drop(dead)
        self._silent.clear()

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        self.listener.close()
        with self._lock:
            self._drop(self._sockets)

    @staticmethod
    def _drop(sockets: list[socket.socket]) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self._sockets.append(client)
            if self._silent.is_set():
                continue  # accepted, and never answered
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while self._silent.is_set() and not self._closed.is_set():
                    self._closed.wait(0.05)  # hold the bytes: the peer hears nothing
                if self._closed.is_set():
                    return
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
