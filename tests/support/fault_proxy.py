"""A fault-injecting HTTP proxy on loopback, in front of a real S3 endpoint.

boto3 is pointed at the proxy as its endpoint; the proxy forwards each
request to the upstream server unchanged, except for the requests its
schedule marks for a fault, which never reach the upstream server:

- `"500"`: HTTP 500 InternalError
- `"503"`: HTTP 503 SlowDown (S3's throttling answer)
- `"reset"`: the TCP connection is reset (RST) without an answer
- `"slow"`: no answer for `slow_seconds` (longer than the client's read
  timeout), then the connection is closed

`faults` lists the fault of request 1, 2, ... (None passes a request
through); requests past the end of the list pass through.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>{code}</Code><Message>injected fault</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}


@dataclass
class FaultLog:
    """What the proxy did: one entry per request, in arrival order."""

    schedule: list[str | None]
    slow_seconds: float = 2.0
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, fault
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            n = len(self.seen)
            fault = self.schedule[n] if n < len(self.schedule) else None
            self.seen.append((method, path, fault))
            return fault

    @property
    def injected(self) -> list[str]:
        return [f for _, _, f in self.seen if f is not None]


def _handler(upstream: str, log: FaultLog) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # quiet
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _error(self, status: int, code: str) -> None:
            body = ERROR_BODY.format(code=code).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _any(self) -> None:
            body = self._body()
            fault = log.next_fault(self.command, self.path)
            if fault == "500":
                return self._error(500, "InternalError")
            if fault == "503":
                return self._error(503, "SlowDown")
            if fault == "reset":
                return self._reset()
            if fault == "slow":
                time.sleep(log.slow_seconds)
                return self._reset()
            if fault is not None:
                raise ValueError(f"unknown fault {fault!r}")
            upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                upstream_conn.request(self.command, self.path, body=body, headers=headers)
                response = upstream_conn.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                upstream_conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    return Handler


@contextmanager
def fault_proxy(
    upstream: str, faults: Sequence[str | None], slow_seconds: float = 2.0
) -> Iterator[tuple[str, FaultLog]]:
    """Yields the proxy's URL and its log; the proxy stops on exit."""
    log = FaultLog(list(faults), slow_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, log))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}", log
    finally:
        server.shutdown()
        server.server_close()
