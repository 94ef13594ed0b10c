"""A small Hugging Face Hub stand-in on 127.0.0.1: enough of the `resolve` API for `huggingface_hub` downloads.

It serves files from a dict `{(repo, path): bytes}` at any revision, with the headers the real Hub sends
(the commit, an ETag that is the sha256 of the content, as for an LFS file, the size), answers 401 "gated"
for the repositories it is told are gated, 503 for the next requests of a file it is told to fail, and 404
for anything else. `requests` records what was asked.
"""
from __future__ import annotations

import hashlib
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubStandIn:
    def __init__(self, files: dict[tuple[str, str], bytes], gated: tuple[str, ...] = ()) -> None:
        self.files = files
        self.gated = set(gated)
        self.failures: Counter[str] = Counter()  # path → how many more requests answer 503
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, raw_path: str) -> tuple[int, dict[str, str], bytes]:
        parts = unquote(raw_path.split("?")[0]).lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return 404, {}, b""
        repo, path = "/".join(parts[:2]), "/".join(parts[4:])
        if repo in self.gated:
            return 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": f"Access to {repo} is restricted."}, b""
        if self.failures[path] > 0:
            self.failures[path] -= 1
            return 503, {}, b"Service Unavailable"
        body = self.files.get((repo, path))
        if body is None:
            return 404, {"X-Error-Code": "EntryNotFound"}, b""
        headers = {"ETag": f'"{hashlib.sha256(body).hexdigest()}"', "X-Repo-Commit": COMMIT,
                   "Content-Length": str(len(body)), "Content-Type": "application/octet-stream"}
        return 200, headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                status, headers, body = standin._answer(method, self.path)
                standin.requests.append((method, self.path, status))
                self.send_response(status)
                headers.setdefault("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
                self._reply("HEAD")

            def do_GET(self) -> None:  # noqa: N802
                self._reply("GET")

            def log_message(self, *args) -> None:  # quiet
                pass

        return Handler
