"""A local HTTP file server for download tests: 127.0.0.1 only, HTTP Range, and scripted faults.

    with RangeServer({"blob.bin": data}) as server:
        server.drops = [1000, 5000]        # the next two responses close after 1000 and 5000 body bytes
        server.ignore_range = True          # answer 200 with the whole file to a Range request
        download_file(server.url("blob.bin"), dest)

Used by tests/test_download.py and benchmarks/download_resume.py. No network beyond loopback.
"""
from __future__ import annotations

import http.server
import re
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server: RangeServer = self.server.owner  # type: ignore[attr-defined]
        server.requests.append((self.path, self.headers.get("Range")))
        data = server.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404)
            return
        start, status = 0, 200
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and not server.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        drop = server.drops.pop(0) if server.drops else None
        if drop is not None and drop < len(body):
            self.wfile.write(body[:drop])  # then the connection goes: a dropped Wi-Fi
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class RangeServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) serving ``files`` {name: bytes}."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.drops: list[int] = []
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, name: str = "") -> str:
        """The URL of ``name`` (or of the folder, ending in /)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def __enter__(self) -> "RangeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
