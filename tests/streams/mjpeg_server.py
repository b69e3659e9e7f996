"""A local HTTP MJPEG camera for the tests (``multipart/x-mixed-replace``), in a thread of the test process.

``MjpegServer(frames, fps).start()`` serves ``http://127.0.0.1:<port>/video.mjpg`` looping the given JPEG frames.
``resize_after`` switches every later frame to half size (a camera changing resolution mid-way);
``garbage_after`` then sends random bytes instead of JPEG parts (a broken encoder); ``cut()`` drops the open
connections (the camera rebooting)."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BOUNDARY = "frameboundary"


class MjpegServer:
    def __init__(self, frames: list[bytes], fps: float, *, resize_after: int | None = None,
                 garbage_after: int | None = None) -> None:
        self.frames, self.fps = frames, fps
        self.resize_after, self.garbage_after = resize_after, garbage_after
        self.sent = 0
        self.generation = 0
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] != "/video.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                try:
                    server.stream(self.wfile)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/video.mjpg"

    def frame_bytes(self, n: int) -> bytes:
        data = self.frames[n % len(self.frames)]
        if self.resize_after is not None and n >= self.resize_after:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2))
            data = cv2.imencode(".jpg", image)[1].tobytes()
        return data

    def cut(self) -> None:
        self.generation += 1

    def stream(self, out: object) -> None:
        n, generation = self.sent, self.generation
        while not self.stopping.is_set() and generation == self.generation:
            if self.garbage_after is not None and n >= self.garbage_after:
                out.write(os.urandom(4096))  # type: ignore[attr-defined]
            else:
                data = self.frame_bytes(n)
                out.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"  # type: ignore[attr-defined]
                          .encode() + data + b"\r\n")
            n += 1
            self.sent = n
            time.sleep(1.0 / self.fps)

    def start(self) -> MjpegServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
