"""A load generator for bench/run.py: asyncio and raw sockets, so one process holds 100 connections.

Gunicorn's sync workers answer one request per connection (``Connection: close``), so every
request opens its own connection, sends its bytes and reads until the server closes. Only
127.0.0.1 is ever contacted; every run is bounded in time and in requests.
"""

from __future__ import annotations

import asyncio
import gzip
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    content: bytes  # as sent: gzip if the server packed it
    started: float  # time.monotonic() when the request began
    seconds: float

    @property
    def body(self) -> bytes:
        """The content unpacked, as a browser shows it: only when a check reads it, so that
        the load generator, which shares the machine with the servers, spends no time on it.
        """
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.content)
        return self.content


@dataclass
class Load:
    """What a run counted: latencies of the answered requests, errors and timeouts apart."""

    latencies: list[float] = field(default_factory=list)  # seconds, of the 2xx/3xx answers
    seconds: float = 0.0  # wall time of the run
    errors: int = 0  # connection errors and 4xx/5xx answers
    timeouts: int = 0
    failed_checks: int = 0  # answers the caller's check refused (e.g. a stale page)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The nearest-rank percentile in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def add(self, other: Load) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.failed_checks += other.failed_checks

    def cell(self) -> str:
        text = (
            f"{rate(self.rps)} rps (p50 {self.percentile(50):,.1f} / p99 "
            f"{self.percentile(99):,.1f} ms)"
        )
        problems = [
            f"{n} {what}"
            for n, what in (
                (self.errors, "errors"),
                (self.timeouts, "timeouts"),
                (self.failed_checks, "failed checks"),
            )
            if n
        ]
        return text + (f", {', '.join(problems)}" if problems else "")


def rate(per_second: float) -> str:
    """Requests per second, to three significant digits or more."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"


def raw_request(method: str, path: str, port: int, headers: dict | None, body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    # what every browser sends: its language, and that it takes gzip
    defaults = {"Accept-Language": "de", "Accept-Encoding": "gzip"}
    lines += [f"{k}: {v}" for k, v in {**defaults, **(headers or {})}.items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes = b"",
    timeout: float = 30.0,
) -> Response:
    """One request on its own connection; raises OSError, ValueError or TimeoutError."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(raw_request(method, path, port, headers, body))
            data = await reader.read()
        finally:
            writer.close()
    head, _, content = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if not status_line.startswith("HTTP/1."):
        raise ValueError(f"no HTTP answer: {status_line[:80]!r}")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()  # a repeated header (Set-Cookie): one value per line
        parsed[name] = f"{parsed[name]}\n{value.strip()}" if name in parsed else value.strip()
    seconds = time.monotonic() - started
    return Response(int(status_line.split()[1]), parsed, content, started, seconds)


async def hammer_async(
    port: int,
    paths: list[str],
    seconds: float,
    connections: int,
    *,
    max_requests: int = 200_000,
    headers: dict | None = None,
    timeout: float = 30.0,
    check: Callable[[str, Response], bool] | None = None,
) -> dict[str, Load]:
    """Keep ``connections`` clients busy on ``paths`` (taking turns) for ``seconds``; return what
    each path got. ``check`` refuses answers (counted as failed checks, e.g. a stale page).
    """
    loads = {path: Load() for path in paths}
    budget = [max_requests]
    began = time.monotonic()
    deadline = began + seconds

    async def client(n: int) -> None:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            path = paths[n % len(paths)]
            n += 1
            result = loads[path]
            try:
                response = await fetch(port, path, headers=headers, timeout=timeout)
            except TimeoutError:
                result.timeouts += 1
                continue
            except (OSError, ValueError):
                result.errors += 1
                continue
            if response.status >= 400:
                result.errors += 1
                continue
            result.latencies.append(response.seconds)
            if check is not None and not check(path, response):
                result.failed_checks += 1

    await asyncio.gather(*(client(n) for n in range(connections)))
    for result in loads.values():  # requests in flight at the deadline finish and count
        result.seconds = time.monotonic() - began
    return loads


def hammer(port: int, path: str, seconds: float, connections: int, **options) -> Load:
    """``hammer_async`` on one path, outside any event loop."""
    return asyncio.run(hammer_async(port, [path], seconds, connections, **options))[path]


def get(port: int, path: str, headers: dict | None = None, timeout: float = 120.0) -> Response:
    """One GET, outside any event loop."""
    return asyncio.run(fetch(port, path, headers=headers, timeout=timeout))


def post(port: int, path: str, body: bytes, headers: dict, timeout: float = 60.0) -> Response:
    return asyncio.run(
        fetch(port, path, method="POST", headers=headers, body=body, timeout=timeout)
    )
