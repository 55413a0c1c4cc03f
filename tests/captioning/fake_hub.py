"""A stand-in for the Hugging Face Hub's file endpoint, served on 127.0.0.1 (a test double).

It answers what ``huggingface_hub.hf_hub_download`` asks: ``HEAD`` and ``GET`` of
``/<owner>/<name>/resolve/<revision>/<file>`` with the commit, ETag and size headers, and honours
``Range`` so that an interrupted download can resume. ``delay_per_chunk`` slows the transfer down so
that a test can cancel in the middle; every request is recorded.
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, Path], *, chunk: int = 64 * 1024, delay_per_chunk: float = 0.0) -> None:
        self.files: dict[str, bytes] = {}
        for repo, folder in repos.items():
            for path in Path(folder).iterdir():
                if path.is_file():
                    self.files[f"/{repo}/resolve/main/{path.name}"] = path.read_bytes()
        self.chunk = chunk
        self.delay_per_chunk = delay_per_chunk
        self.requests: list[tuple[str, str, str]] = []  # method, path, Range header
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def _head(self, data: bytes, status: int = 200, start: int = 0) -> None:
                self.send_response(status)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()

            def _find(self) -> bytes | None:
                hub.requests.append((self.command, self.path, self.headers.get("Range", "")))
                data = hub.files.get(self.path.split("?")[0])
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                return data

            def do_HEAD(self) -> None:
                data = self._find()
                if data is not None:
                    self._head(data)

            def do_GET(self) -> None:
                data = self._find()
                if data is None:
                    return
                start = 0
                header = self.headers.get("Range", "")
                if header.startswith("bytes="):
                    start = int(header[6:].split("-")[0] or 0)
                self._head(data, 206 if start else 200, start)
                try:
                    for offset in range(start, len(data), hub.chunk):
                        self.wfile.write(data[offset:offset + hub.chunk])
                        self.wfile.flush()
                        if hub.delay_per_chunk:
                            time.sleep(hub.delay_per_chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-hub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
