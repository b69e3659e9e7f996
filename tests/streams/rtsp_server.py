"""A real RTSP server for the camera tests, run with the system Python (``/usr/bin/python3``) because it uses
Debian's GStreamer RTSP server through ``python3-gi`` + ``gir1.2-gst-rtsp-server-1.0``.

``rtsp_server.py PORT FRAMES_DIR FPS`` serves ``rtsp://127.0.0.1:PORT/cam``: the JPEG frames ``FRAMES_DIR/%04d.jpg``
looped forever, H.264 (``x264enc tune=zerolatency``). Prints ``ready`` once listening; SIGTERM stops it.
"""

import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, frames, fps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( multifilesrc location={frames}/%04d.jpg index=0 loop=true caps=image/jpeg,framerate={fps}/1 "
        "! jpegdec ! videoconvert ! video/x-raw,format=I420 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} bitrate=800 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"could not listen on port {port}", flush=True)
        sys.exit(2)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
