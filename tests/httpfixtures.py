"""A tiny threaded HTTP server on 127.0.0.1 for fetch tests: routes are plain functions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    """Routes by path; records each request's path and headers for assertions."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.routes[path] = fn
            return fn

        return deco


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    """Answer with a complete body and Content-Length."""
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if body and h.command != "HEAD":
        h.wfile.write(body)


@contextmanager
def local_server() -> Iterator[LocalServer]:
    state = LocalServer()

    class _H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no delayed-ACK stalls on keep-alive connections

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?")[0]
            state.requests.append((self.path, {k: v for k, v in self.headers.items()}))
            fn = state.routes.get(path)
            if fn is None:
                send(self, 404, b"not found", {"Content-Type": "text/plain"})
                return
            try:
                fn(self)
            except OSError:  # the client hung up (deadline, size cap): expected in these tests
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    class _Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # clients that hang up early are part of the tests

    server = _Server(("127.0.0.1", 0), _H)
    server.daemon_threads = True
    state.port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def local_config(folder: Path, tables: str = "") -> Path:
    """A feedpipe.toml in `folder` for sources served from this machine: a SQLite store and the public
    folder inside it, fetches allowed to reach 127.0.0.1 and cut short (2 s) when a test server stalls;
    `tables` adds the test's own ([[sources]], [outlet] ...)."""
    cfg = folder / "feedpipe.toml"
    cfg.write_text(f"""
[store]
path = "var/feedpipe.db"
[paths]
public = "public"
[fetch]
allow_private_addresses = true  # the test servers listen on 127.0.0.1
connect_timeout = 2
read_timeout = 2
deadline = 5
{tables}
""", encoding="utf-8")
    return cfg
