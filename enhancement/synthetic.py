"""Synthetic CCTV footage, built only from images that installed packages ship (no download, no shared data).

THIS FOOTAGE IS SYNTHETIC. :func:`make_cctv_clip` pastes the head and shoulders of ``skimage.data.astronaut()``
(NASA photo of Eileen Collins, public domain) onto ``skimage.data.rocket()`` and degrades it the way poor CCTV does:
the face is small (about 60 px), moves across the scene, is darkened with a low-light gamma, motion-blurred along
its path, gets sensor noise and JPEG blocking on every frame, and the clip is then compressed by the MPEG-4 codec.
It lets a fresh clone without ``../shared/data`` demonstrate and benchmark the real pipeline end to end.

:func:`loop_clip` and :func:`rescale_clip` stream an existing clip into a longer or larger one for benchmarks.
Conventions: frames are ``uint8`` BGR arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ASTRONAUT_FACE = (177, 66, 95, 95)  # Haar's box on the 512x512 astronaut image
_SPRITE = (110, 10, 235, 330)  # head-and-shoulders region (x, y, w, h) cut from the astronaut image


@dataclass(frozen=True)
class SyntheticClip:
    path: Path
    width: int
    height: int
    fps: float
    frames: int
    face_px: int
    description: str


def astronaut_bgr() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _background(width: int, height: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR), (width, height), interpolation=cv2.INTER_AREA)


def _sprite(face_px: int) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head and shoulders scaled so her face is ``face_px`` wide, with a soft alpha that keeps the
    head and the suit but not the bright studio backdrop (which no CCTV scene has)."""
    x, y, w, h = _SPRITE
    cut = astronaut_bgr()[y:y + h, x:x + w]
    scale = face_px / ASTRONAUT_FACE[2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    sprite = cv2.resize(cut, size, interpolation=cv2.INTER_AREA)
    fx, fy, fw, fh = ((v - o) * scale for v, o in zip(ASTRONAUT_FACE, (x, y, 0, 0), strict=True))
    alpha = np.zeros(sprite.shape[:2], np.float32)
    head_centre = (round(fx + fw / 2), round(fy + fh * 0.4))
    cv2.ellipse(alpha, head_centre, (round(fw * 0.72), round(fh * 0.95)), 0, 0, 360, 1.0, -1)
    body_centre = (size[0] // 2, size[1] - 1)
    cv2.ellipse(alpha, body_centre, (size[0] // 2 - 1, round(size[1] - fy - fh * 1.05)), 0, 180, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, face_px / 25))
    return sprite, np.clip(alpha, 0.0, 1.0)  # blurring can overshoot 1 by float error; 1 - alpha must stay >= 0


def _motion_blur(image: np.ndarray, length: int) -> np.ndarray:
    if length <= 1:
        return image
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length  # horizontal: the direction the person walks
    return cv2.filter2D(image, -1, kernel)


def make_cctv_clip(path: str | Path, *, width: int = 640, height: int = 360, fps: float = 15.0, seconds: float = 6.0,
                   face_px: int = 60, darkness: float = 0.45, gamma: float = 1.6, blur_px: int = 5,
                   noise_sigma: float = 4.0, jpeg_quality: int = 40, seed: int = 0,
                   pause_seconds: float = 0.0) -> SyntheticClip:
    """Write the synthetic clip to ``path`` (MPEG-4 in an .mp4 container) one frame at a time and describe it.
    ``pause_seconds`` of the empty scene follow the walk (a looping demo camera: one pass per loop)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    background = _background(width, height).astype(np.float32)
    sprite, alpha = _sprite(face_px)
    sprite = _motion_blur(sprite, blur_px).astype(np.float32)
    alpha = np.clip(_motion_blur(alpha, blur_px), 0.0, 1.0)[..., None]
    sh, sw = sprite.shape[:2]
    n = max(2, int(round(seconds * fps)))
    pause = int(round(pause_seconds * fps))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open a video writer for {path}")
    try:
        for i in range(n + pause):
            t = min(i, n - 1) / (n - 1)
            # Walks left to right across the middle of the frame with a small bob.
            x = int(0.1 * width + t * (0.8 * width - sw))
            y = int(height * 0.55 - sh / 2 + 4 * np.sin(i / 3))
            frame = background.copy()
            if i < n:  # after the walk, the pause: nobody in the scene
                x0, y0 = max(0, x), max(0, y)
                x1, y1 = min(width, x + sw), min(height, y + sh)
                region = frame[y0:y1, x0:x1]
                s = sprite[y0 - y:y1 - y, x0 - x:x1 - x]
                a = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
                frame[y0:y1, x0:x1] = region * (1 - a) + s * a
            lowlight = 255.0 * darkness * (np.clip(frame, 0, 255) / 255.0) ** gamma
            noisy = lowlight + rng.normal(0, noise_sigma, lowlight.shape)
            out = np.clip(noisy, 0, 255).astype(np.uint8)
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
            writer.write(decoded if decoded is not None else out)
    finally:
        writer.release()
    description = (f"SYNTHETIC CCTV clip: skimage astronaut (face {face_px} px) walking across skimage rocket, "
                   f"{width}x{height} at {fps:g} fps, {n} frames, darkness {darkness}, gamma {gamma}, motion blur "
                   f"{blur_px} px, noise sigma {noise_sigma}, JPEG q{jpeg_quality}, MPEG-4 codec, seed {seed}")
    if pause:
        description += f", then {pause_seconds:g} s of the empty scene"
    return SyntheticClip(path, width, height, fps, n + pause, face_px, description)


def loop_clip(src: str | Path, dst: str | Path, *, seconds: float) -> int:
    """Stream ``src`` repeatedly into ``dst`` until ``seconds`` of footage are written; returns frames written."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    ok, frame = cap.read()
    if not ok:
        raise RuntimeError(f"cannot read {src}")
    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    target, written = int(seconds * fps), 0
    try:
        while written < target:
            writer.write(frame)
            written += 1
            ok, frame = cap.read()
            if not ok:
                cap.release()
                cap = cv2.VideoCapture(str(src))
                ok, frame = cap.read()
    finally:
        cap.release()
        writer.release()
    return written


def rescale_clip(src: str | Path, dst: str | Path, *, height: int) -> tuple[int, int]:
    """Stream ``src`` into ``dst`` resized (bicubic) to ``height`` lines; returns the new (width, height)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    size = (int(round(w * height / h / 2)) * 2, height)
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC))
    finally:
        cap.release()
        writer.release()
    return size
