"""waitress (a production WSGI server) serving the web side from a thread."""

from __future__ import annotations

import contextlib
import threading
import time
from wsgiref.types import WSGIApplication

from waitress import create_server

PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-proto"}


class WebServer:
    """waitress serving a WSGI app from a thread; `port=0` picks a free port (see `.port`).

    With `trusted_proxy` (an address), that proxy's X-Forwarded-For/-Proto are believed; untrusted
    proxy headers are always dropped."""

    def __init__(self, wsgi_app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 8,
                 trusted_proxy: str | None = None) -> None:
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": PROXY_HEADERS} if trusted_proxy else {}
        self._server = create_server(wsgi_app, host=host, port=port, threads=threads, ident="feedpipe",
                                     clear_untrusted_proxy_headers=True, **proxy)
        self.host = host
        self.port: int = self._server.effective_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(target=self._server.run, name="waitress", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let the requests in flight finish and their answers go out, then close
        every connection. Sockets are closed on the server's own thread (through its trigger), never
        under its select(); the trigger's pipe is closed after that thread has ended."""
        server = self._server
        thread = self._thread if self._thread is not None and self._thread.is_alive() else None

        def stop_accepting() -> None:
            server.accepting = False
            server.del_channel()
            with contextlib.suppress(OSError):
                server.socket.close()

        def close_channels() -> None:
            for channel in list(server._map.values()):
                if channel is not server.trigger:
                    with contextlib.suppress(Exception):  # a channel already closing
                        channel.close()
            server.trigger.del_channel()  # the map is empty now: the loop ends

        if thread is not None:
            server.trigger.pull_trigger(stop_accepting)
        else:
            stop_accepting()
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        deadline = time.monotonic() + 1.0
        while thread is not None and time.monotonic() < deadline and any(
            getattr(ch, "total_outbufs_len", 0) for ch in list(server._map.values())
        ):
            time.sleep(0.01)
        if thread is not None:
            server.trigger.pull_trigger(close_channels)
            thread.join(timeout)
        else:
            close_channels()
        if not (self._thread and self._thread.is_alive()):
            server.trigger.close()  # its pipe, once no select() watches it

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
