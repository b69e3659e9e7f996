"""Footage and hostile files made by the tests themselves (ffmpeg, OpenCV, Pillow, zipfile): nothing is downloaded.

The face clip: ``skimage.data.astronaut()``'s face pasted on ``skimage.data.rocket()``, visible from
``FACE_FROM`` to ``FACE_TO`` seconds of a ``CLIP_SECONDS`` clip, so every format's sightings have known times.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

CLIP_SECONDS, FACE_FROM, FACE_TO, CLIP_FPS = 4.0, 1.0, 3.0, 30


def need_ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("ffmpeg is not installed (make test installs it with apt)")
    return exe


def _face_and_background(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    background = cv2.resize(cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR), (width, height))
    face = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[20:300, 120:330], (105, 140))
    return background, face


def face_frame(t: float, width: int = 320, height: int = 240,
               parts: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The frame at ``t`` seconds: the astronaut's head moves slowly right while ``FACE_FROM <= t < FACE_TO``."""
    background, face = parts or _face_and_background(width, height)
    frame = background.copy()
    if FACE_FROM <= t < FACE_TO:
        x, y = (width - 105) // 2 - 10 + int(20 * (t - FACE_FROM)), (height - 140) // 2
        frame[y:y + 140, x:x + 105] = face
    return frame


def make_master(folder: Path, *, width: int = 320, height: int = 240, name: str = "master.mkv") -> Path:
    """A lossless (FFV1) master of the face clip at ``CLIP_FPS``; every format is converted from it."""
    path = folder / name
    command = [need_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
               "-r", str(CLIP_FPS), "-i", "-", "-c:v", "ffv1", str(path)]
    parts = _face_and_background(width, height)
    with subprocess.Popen(command, stdin=subprocess.PIPE) as process:
        for index in range(int(CLIP_SECONDS * CLIP_FPS)):
            process.stdin.write(face_frame(index / CLIP_FPS, width, height, parts).tobytes())
        process.stdin.close()
    assert process.returncode == 0
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([need_ffmpeg(), "-v", "error", "-y", *args], check=True, timeout=120)


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
X265 = ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"]
# Frames 20..50 keep one in three and the rest are dropped with their timestamps kept: a variable frame rate.
VFR = ["-vf", "select='not(between(n,20,50)*mod(n,3))'", "-fps_mode", "vfr"]


@dataclass(frozen=True)
class Format:
    name: str  # the uploaded file's name
    args: tuple[str, ...]  # ffmpeg output options, applied to the master
    duration: float = CLIP_SECONDS
    face_to: float = FACE_TO
    master: str = "landscape"  # "portrait": a 240 x 320 master
    then: tuple[str, ...] = ()  # a second pass (stream copy) with these options

    def make(self, folder: Path, masters: dict[str, Path]) -> Path:
        out = folder / self.name
        target = folder / f"pass1-{self.name}" if self.then else out
        ffmpeg("-i", str(masters[self.master]), *self.args, str(target))
        if self.then:
            ffmpeg("-i", str(target), "-c", "copy", *self.then, str(out))
            target.unlink()
        return out


FORMATS = [
    Format("h264.mp4", tuple(X264)),
    Format("h265.mp4", (*X265, "-tag:v", "hvc1")),
    Format("h264.mov", tuple(X264)),
    Format("h265.mov", (*X265, "-tag:v", "hvc1")),
    Format("h264.mkv", tuple(X264)),
    Format("h265.mkv", tuple(X265)),
    Format("h264.ts", tuple(X264)),
    Format("h265.ts", tuple(X265)),
    Format("raw.h264", (*X264, "-f", "h264")),
    Format("raw.h265", (*X265, "-f", "hevc")),
    Format("mjpeg.avi", ("-c:v", "mjpeg", "-q:v", "5")),
    Format("vp9.webm", ("-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8")),
    Format("vfr.mkv", (*VFR, *X264)),
    Format("vfr.mp4", (*VFR, *X264)),
    Format("grey.mp4", ("-vf", "format=gray", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "gray")),
    Format("5fps.mp4", ("-vf", "fps=5", *X264)),
    Format("4k.mp4", ("-vf", "scale=2880:2160,pad=3840:2160:480:0", "-t", "2", "-c:v", "libx264",
                      "-preset", "ultrafast", "-pix_fmt", "yuv420p"), duration=2.0, face_to=2.0),
    Format("portrait.mp4", tuple(X264), master="portrait"),
    # Stored on its side (a phone held upright records landscape pixels) with a 90 degree display rotation.
    Format("rotated.mp4", ("-vf", "transpose=1", *X264), master="portrait", then=("-metadata:s:v:0", "rotate=90")),
]


# --- hostile and broken files ------------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(side: int = 40_000) -> bytes:
    """A 1-bit PNG of ``side`` x ``side`` zeros, deflated: about 200 KB that a decoder expands to 1.6 gigapixels."""
    row = b"\0" * (side // 8 + 1)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def gif_bomb(side: int = 40_000) -> bytes:
    """A GIF whose logical screen is ``side`` x ``side`` with one 1 x 1 frame: a bomb for a naive compositor."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (1, 1)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", side, side)
    return bytes(data)


def encode(image: np.ndarray, ext: str, *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


def pil_bytes(image: object, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)  # type: ignore[attr-defined]
    return buf.getvalue()


def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def big_jpeg() -> bytes:
    """12,000 x 9,000 (108 megapixels), flat grey."""
    return encode(np.full((9000, 12000), 90, np.uint8), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 30)


def long_gif(frames: int = 3000) -> bytes:
    from PIL import Image

    images = []
    for index in range(frames):
        frame = np.zeros((32, 32), np.uint8)
        frame[(index // 32) % 32, index % 32] = 255  # one pixel walks the image: every frame differs
        images.append(Image.fromarray(frame).convert("P"))
    return pil_bytes(images[0], "GIF", save_all=True, append_images=images[1:], duration=40)


def animated_webp() -> bytes:
    from PIL import Image

    face = Image.fromarray(astronaut_rgb()).resize((128, 128))
    frames = [face.rotate(angle) for angle in (0, 5, 10, 15)]
    return pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=200)


def sixteen_bit_png() -> bytes:
    grey = cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    return encode(grey, ".png")


def cmyk_jpeg() -> bytes:
    from PIL import Image

    return pil_bytes(Image.fromarray(astronaut_rgb()).convert("CMYK"), "JPEG")


def palette_png() -> bytes:
    from PIL import Image

    return pil_bytes(Image.fromarray(astronaut_rgb()).convert("P", palette=Image.Palette.ADAPTIVE), "PNG")


def alpha_png() -> bytes:
    rgba = cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGRA)
    rgba[:, :64, 3] = 0
    return encode(rgba, ".png")


def mp4_without_frames(folder: Path) -> bytes:
    """An MP4 whose video track holds no sample: ffmpeg writes the header of an empty stream."""
    master = folder / "one.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=64x64:rate=5:duration=1", "-frames:v", "0", *X264, str(master))
    return master.read_bytes()


def avi_with_header(source: bytes, *, rate: int | None = None, size: tuple[int, int] | None = None) -> bytes:
    """Patch an AVI's main and stream headers: frame rate (``dwRate``, 0 = none) or dimensions."""
    data = bytearray(source)
    avih = data.index(b"avih") + 8
    strh = data.index(b"strh") + 8
    strf = data.index(b"strf") + 8
    if rate is not None:
        data[avih:avih + 4] = struct.pack("<I", 0)  # dwMicroSecPerFrame
        data[strh + 20:strh + 28] = struct.pack("<II", 1, rate)  # dwScale, dwRate
    if size is not None:
        data[avih + 32:avih + 40] = struct.pack("<II", *size)
        data[strh + 52:strh + 56] = struct.pack("<hh", *size) if max(size) < 32768 else b"\xff\x7f\xff\x7f"
        data[strf + 4:strf + 12] = struct.pack("<ii", *size)
    return bytes(data)


def bit_flipped(data: bytes, every: int = 997, seed: int = 1) -> bytes:
    """Flip one bit every ``every`` bytes past the first kilobyte (the header survives, the payload does not)."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for offset in range(1024, len(out), every):
        out[offset] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def zip_of(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buf.getvalue()


def zip_bomb(members: int = 12, member_mb: int = 50) -> bytes:
    """``members`` files of ``member_mb`` MB of zeros each (600 MB unpacked, about 600 KB packed)."""
    payload = b"\0" * (member_mb * 1024 * 1024)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for index in range(members):
            archive.writestr(f"bomb/{index}.png", payload)
    return buf.getvalue()


def lying_zip(real_bytes: int = 5_000_000) -> bytes:
    """A member that declares 100 bytes but inflates to ``real_bytes``: sizes in the directory cannot be trusted."""
    payload = b"\0" * real_bytes
    data = bytearray(zip_of({"liar/photo.png": payload}))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + size_at:at + size_at + 4] = struct.pack("<I", 100)
    return bytes(data)


HostileMaker = Callable[[Path], bytes]


def faststart_truncated(source: Path, folder: Path) -> bytes:
    """An MP4 with its index first (``+faststart``), cut at 70 %: it opens, and frames stop decoding part way (the
    first key frame, the whole background, is most of the first half of so small a file)."""
    fast = folder / "fast.mp4"
    ffmpeg("-i", str(source), "-c", "copy", "-movflags", "+faststart", str(fast))
    data = fast.read_bytes()
    return data[: len(data) * 7 // 10]


def mp4_patch(source: bytes, box: bytes, edit: Callable[[bytearray, int], None]) -> bytes:
    data = bytearray(source)
    edit(data, data.index(box))
    return bytes(data)


def zero_timescale(data: bytearray, at: int) -> None:
    """mdhd: the track's clock ticks 0 times a second (ffmpeg then assumes 1: one frame every 512 s)."""
    offset = at + 4 + 4 + (16 if data[at + 4] == 1 else 8)
    data[offset:offset + 4] = b"\0\0\0\0"


def zero_durations(data: bytearray, at: int) -> None:
    """stts: every sample lasts 0 ticks, so every frame claims the same time."""
    for entry in range(struct.unpack(">I", data[at + 8:at + 12])[0]):
        offset = at + 12 + 8 * entry + 4
        data[offset:offset + 4] = b"\0\0\0\0"


def y4m_header_bomb() -> bytes:
    return b"YUV4MPEG2 W30000 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 4096


def image_of(side_w: int, side_h: int) -> bytes:
    return encode(np.full((side_h, side_w, 3), 120, np.uint8), ".png")


def astronaut_jpeg() -> bytes:
    return encode(cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGR), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000" '
       b'onload="alert(1)"><rect width="4000" height="4000"/></svg>\n')


@dataclass(frozen=True)
class Hostile:
    """One hostile upload and how it must end: ``refused`` (a 4xx whose reason contains ``reason``), or accepted
    and then ``done`` or ``failed`` (with ``reason`` in the footage's error) in the job."""

    name: str
    make: Callable[[dict[str, Path]], bytes]
    outcome: str
    reason: str = ""
    sightings: bool = False  # the analysis must find the astronaut in it


def hostile_footage() -> list[Hostile]:
    """Footage uploads. ``make`` receives ``{"clip": a good 4 s H.264 MP4, "folder": scratch space}``."""
    clip = lambda f: f["clip"].read_bytes()  # noqa: E731 - a table reads better with short makers
    return [
        Hostile("bomb.png", lambda f: png_bomb(), "refused", "1,600 megapixels; the limit is 50 megapixels"),
        Hostile("bomb.gif", lambda f: gif_bomb(), "refused", "1,600 megapixels; the limit is 50 megapixels"),
        Hostile("huge.jpg", lambda f: big_jpeg(), "refused", "12,000 x 9,000 pixels (108 megapixels)"),
        Hostile("long.gif", lambda f: long_gif(), "done"),
        Hostile("dot.png", lambda f: image_of(1, 1), "refused", "1 x 1 pixels: too small to show a face"),
        Hostile("sliver.png", lambda f: image_of(16, 20_000), "refused", "16 x 20000 pixels: too small"),
        Hostile("deep.png", lambda f: sixteen_bit_png(), "done", sightings=True),
        Hostile("cmyk.jpg", lambda f: cmyk_jpeg(), "done", sightings=True),
        Hostile("palette.png", lambda f: palette_png(), "done", sightings=True),
        Hostile("alpha.png", lambda f: alpha_png(), "done", sightings=True),
        Hostile("animated.webp", lambda f: animated_webp(), "done"),
        Hostile("page.png", lambda f: HTML, "refused", "not a readable video"),
        Hostile("drawing.png", lambda f: SVG, "refused", "not a readable video"),
        Hostile("page.mp4", lambda f: HTML, "refused", "not a readable video"),
        Hostile("drawing.mp4", lambda f: SVG, "refused", "not a readable video"),
        # A real PNG with a web page after its end: served as what it decodes as (image/png, nosniff), analysed.
        Hostile("polyglot.png", lambda f: astronaut_png() + HTML, "done", sightings=True),
        # "GIF89a" then script: looks like a GIF to a sniffer, is none.
        Hostile("polyglot.gif", lambda f: b"GIF89a/*" + b"\0" * 8 + b"*/=1;alert(1);" + HTML, "refused",
                "not a readable"),
        Hostile("cut.mp4", lambda f: clip(f)[: len(clip(f)) // 2], "refused", "not a readable video"),
        Hostile("cut-faststart.mp4", lambda f: faststart_truncated(f["clip"], f["folder"]), "failed",
                "truncated or damaged"),
        # The H.264 decoder conceals the damage (smeared blocks): the picture is poor evidence, the file is footage.
        Hostile("flipped.mp4", lambda f: bit_flipped(clip(f)), "done"),
        Hostile("tail.mp4", lambda f: clip(f) + bytes(np.random.default_rng(3).integers(0, 256, 65536, np.uint8)),
                "done", sightings=True),
        Hostile("no-frames.mp4", lambda f: mp4_without_frames(f["folder"]), "refused", "not a readable video"),
        Hostile("zero-fps.mp4", lambda f: mp4_patch(clip(f), b"mdhd", zero_timescale), "refused", "frame rate"),
        Hostile("same-time.mp4", lambda f: mp4_patch(clip(f), b"stts", zero_durations), "failed",
                "truncated or damaged"),
        Hostile("huge-header.avi", lambda f: avi_with_header(mjpeg_avi(f), size=(65535, 65535)), "done",
                sightings=True),
        Hostile("huge-header.y4m", lambda f: y4m_header_bomb(), "refused", "not a readable video"),
        Hostile("empty.mp4", lambda f: b"", "refused", "file is empty"),
    ]


def astronaut_png() -> bytes:
    return encode(cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGR), ".png")


def mjpeg_avi(files: dict[str, Path]) -> bytes:
    out = files["folder"] / "mjpeg.avi"
    if not out.exists():
        ffmpeg("-i", str(files["clip"]), "-c:v", "mjpeg", "-q:v", "5", str(out))
    return out.read_bytes()


# Valid photos under names a browser or a script may send.
HOSTILE_NAMES = {
    "path": "../../../etc/cron.d/evil.jpg",
    "backslashes": "..\\..\\windows\\system32\\evil.jpg",
    "unicode": "ünïcødé 監視カメラ 📹.jpg",
    "control": "bad\x01\x1b[31mname\u202egpj.jpg",
    "long": "x" * 300 + ".jpg",
}


def hostile_zips() -> dict[str, tuple[Callable[[], bytes], str]]:
    """Bulk-import archives -> (maker, reason the refusal gives)."""
    photo = astronaut_jpeg()
    return {
        "bomb": (zip_bomb, "unpacks to more than 500 MB"),
        "symlink": (lambda: zip_of({"ann/a.jpg": photo}, symlinks={"ann/b.jpg": "/etc/passwd"}), "unsafe path"),
        "dotdot": (lambda: zip_of({"ann/a.jpg": photo, "../../evil/x.jpg": photo}), "unsafe path"),
        "absolute": (lambda: zip_of({"/etc/evil.jpg": photo}), "unsafe path"),
        "10000-files": (lambda: zip_of({f"many/{i}.png": b"x" for i in range(10_000)}), "holds 10000 files"),
        "lying-sizes": (lying_zip, "damaged"),
        "not-a-zip": (lambda: HTML, "not a zip archive"),
        "not-images": (lambda: zip_of({"ann/a.jpg": photo, "ann/b.png": HTML}), "not a readable image"),
    }
