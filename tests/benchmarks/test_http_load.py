"""``http_load.run_load`` against a small real HTTP/1.1 server: keep-alive, chunked bodies, errors."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.benchmarks.http_load import run_load


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the APIs under uvicorn
    connections: set[int] = set()

    def do_GET(self) -> None:  # noqa: N802
        _Handler.connections.add(id(self.connection))
        status = 404 if self.path.startswith("/missing") else 200
        self.send_response(status)
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"a":', b"1}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = b'{"ok":true}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url():
    _Handler.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_chunked_and_sized_bodies_are_read_whole_over_kept_connections(server_url):
    result = run_load(server_url, ["/chunked", "/sized"] * 30, concurrency=3, warmup=4)
    assert result["requests"] == 60 and result["errors"] == 0
    assert len(_Handler.connections) == 3  # one connection per concurrent client, reused for every request
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_non_2xx_answers_and_refused_connections_count_as_errors(server_url):
    assert run_load(server_url, ["/sized", "/missing"] * 10, concurrency=2, warmup=0)["errors"] == 10
    assert run_load("http://127.0.0.1:9", ["/x"] * 4, concurrency=2, warmup=0, timeout_s=2)["errors"] == 4


def test_only_plain_http_urls_are_accepted():
    with pytest.raises(ValueError, match="http://host:port"):
        run_load("https://example.com", ["/x"], concurrency=1)
