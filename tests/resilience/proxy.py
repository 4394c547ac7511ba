"""A TCP proxy that can cut a server off: the store outage as clients really see it.

Chosen over SIGSTOP of the server process: a stopped process keeps its sockets, so clients only see
silence and the kernel still accepts new connections into the backlog; a cut here resets every open
connection and refuses new ones, while the server behind it keeps its (in-memory) data.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from services.devstack.process import free_port

ACCEPT_POLL_S = 0.2


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port`` until ``cut()``; ``restore()`` listens again on the same
    port.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.connections_cut = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting = threading.Event()
        self._acceptor: threading.Thread | None = None

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL_S)  # close() does not wake a blocked accept(): poll a flag instead
        self._listener = listener
        self._accepting.set()
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener,), name="proxy-accept", daemon=True)
        self._acceptor.start()
        return self

    restore = start

    def cut(self) -> None:
        """Stop listening (new connects are refused) and reset every open connection."""
        self._accepting.clear()
        if self._acceptor:
            self._acceptor.join()
        if self._listener:
            self._listener.close()
        with self._lock:
            victims, self._sockets = self._sockets, set()
        for sock in victims:
            self.connections_cut += 1
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not a polite FIN
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv()
            except OSError:
                pass
            sock.close()

    close = cut

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._accepting.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
