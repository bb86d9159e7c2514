"""A test server (tests/anthropic_server.py, tests/openai_server.py) in a process of its own,
as a remote server is: its work per request does not compete with the client for the client's
GIL (what the benchmarks measure)."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from http.server import ThreadingHTTPServer


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) in a thread of this process, recording the
    requests it receives: a subclass gives its handler (`_handler`) and its URL's path."""

    path = ""

    def _listen(self) -> None:
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _handler(self):
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{self.path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def calls(self, kind: str | None = None) -> list[dict]:
        return [r for r in self.requests if kind is None or r["kind"] == kind]

    def _received(self, kind: str, body: dict, headers, usage) -> dict:
        """The request recorded with the behaviour its kind's script gives it ("ok" once the
        script is spent) and its usage as the server's cache stands now (`usage(body)`)."""
        with self._lock:
            script = self.script[kind]
            record = {
                "kind": kind,
                "body": body,
                "behaviour": script.pop(0) if script else "ok",
                "headers": dict(headers),
                "start": time.monotonic(),
                "usage": usage(body),
                "n": len(self.requests),
            }
            self.requests.append(record)
        return record


def _serve_for_parent(server_class, args: tuple, kwargs: dict, conn) -> None:
    with server_class(*args, **kwargs) as server:
        conn.send(server.url)
        while conn.recv() != "stop":
            with server._lock:
                conn.send([r["kind"] for r in server.requests])


@contextlib.contextmanager
def server_process(server_class, *args, **kwargs):
    """`server_class(*args, **kwargs)` served from a spawned process. Yields (url, a function
    listing the kinds of the requests received so far)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_for_parent, args=(server_class, args, kwargs, child))
    proc.start()
    try:
        url = parent.recv()

        def requests_so_far() -> list[str]:
            parent.send("requests")
            return parent.recv()

        yield url, requests_so_far
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
