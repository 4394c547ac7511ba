"""Closed-loop HTTP/1.1 load for ``shelfcast bench api``: ``concurrency`` keep-alive connections, one event loop.

Why not httpx or a thread per connection: the client shares the machine's cores with the server it
measures. httpx costs about three times the client CPU per request, and sixteen threads contend for
the GIL (a thread whose answer has arrived can wait out another's 5 ms switch interval), which the
bench would report as server latency. One asyncio loop over raw sockets costs ~0.15 ms of CPU a
request. Each connection sends its next request as soon as it has read the whole previous answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

import numpy as np

try:
    import uvloop

    _LOOP_FACTORY = uvloop.new_event_loop
except ImportError:  # pragma: no cover - Windows
    _LOOP_FACTORY = None


class _Target:
    def __init__(self, base_url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the URL must be http://host:port, got {base_url!r}")
        self.host, self.port, self.prefix = parts.hostname, parts.port or 80, parts.path.rstrip("/")
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.head = f"Host: {parts.netloc}\r\n{extra}\r\n"
        self.timeout_s = timeout_s

    def request(self, path: str) -> bytes:
        return f"GET {self.prefix}{path} HTTP/1.1\r\n{self.head}".encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; (status, whether the server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    version, status = lines[0].split(b" ", 2)[:2]
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    if fields.get(b"transfer-encoding") == b"chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.readexactly(int(fields.get(b"content-length", b"0")))
    keep = fields.get(b"connection") != b"close" and (
        version == b"HTTP/1.1" or fields.get(b"connection") == b"keep-alive"
    )
    return int(status), keep


async def _drive(
    target: _Target, paths: Sequence[str], concurrency: int, warmup: int, progress: Callable[[int], None] | None
) -> tuple[float, list[float], int]:
    total = warmup + len(paths)
    cursor = iter(range(total))
    latencies: list[float] = []
    errors = 0
    done = 0
    started = 0.0

    async def connection() -> None:
        nonlocal errors, done, started
        reader = writer = None
        for i in cursor:
            path = paths[(i - warmup) % len(paths)]
            if i == warmup:
                started = time.perf_counter()
            began = time.perf_counter()
            ok = False
            try:
                async with asyncio.timeout(target.timeout_s):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(target.host, target.port)
                    writer.write(target.request(path))
                    status, keep = await _read_response(reader)
                ok = 200 <= status < 300
            except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                keep = False
            if not keep and writer is not None:
                writer.close()
                reader = writer = None
            if i >= warmup:
                latencies.append(time.perf_counter() - began)
                errors += not ok
                done += 1
                if progress is not None and (done % 100 == 0 or done == len(paths)):
                    progress(done)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def run_load(
    base_url: str,
    paths: Sequence[str],
    concurrency: int,
    headers: Mapping[str, str] | None = None,
    warmup: int = 200,
    timeout_s: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, float | int]:
    """GET every path of ``paths`` (after ``warmup`` untimed ones, taken round-robin from the same list) over
    ``concurrency`` connections; ``{requests, concurrency, seconds, rps, p50_ms, p99_ms, errors}``.

    Latency is send → whole body read, as the client sees it; errors are transport failures,
    timeouts and non-2xx answers. ``progress`` gets the number of timed requests done, every 100.
    """
    if not paths or concurrency <= 0:
        raise ValueError("give at least one path and a positive concurrency")
    target = _Target(base_url, headers or {}, timeout_s)
    with asyncio.Runner(loop_factory=_LOOP_FACTORY) as runner:
        elapsed, latencies, errors = runner.run(_drive(target, paths, concurrency, max(0, warmup), progress))
    millis = np.array(latencies) * 1000
    return {
        "requests": len(paths),
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "rps": round(len(paths) / elapsed, 1),
        "p50_ms": round(float(np.percentile(millis, 50)), 2),
        "p99_ms": round(float(np.percentile(millis, 99)), 2),
        "errors": errors,
    }
