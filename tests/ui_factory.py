"""Real rows with real images for the page tests: a footage frame, its face crops and an alert, built from
scikit-image's astronaut photograph (public domain, shipped inside scikit-image, so no download)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import skimage.data
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from enhancement.detect import crop_box, detect_faces
from facecase.files import sha256_of_path
from footage.models import Alert, Footage, Sighting
from suspects.models import Suspect
from suspects.services import suspect_create, suspect_photo_add


def astronaut() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def face_photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("astronaut.jpg", jpeg(astronaut()), content_type="image/jpeg")


def no_face_photo() -> SimpleUploadedFile:
    coffee = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    return SimpleUploadedFile("coffee.jpg", jpeg(coffee), content_type="image/jpeg")


def two_face_photo() -> SimpleUploadedFile:
    image = astronaut()
    return SimpleUploadedFile("pair.jpg", jpeg(np.hstack([image, cv2.flip(image, 1)])), content_type="image/jpeg")


def make_suspect(actor: Any, name: str = "Eileen Collins", external_id: str = "W-0001",
                 status: str = Suspect.Status.WANTED, photo: bool = True) -> Suspect:
    suspect = suspect_create(actor=actor, name=name, external_id=external_id, status=status)
    if photo:
        suspect_photo_add(actor=actor, suspect=suspect, upload=face_photo())
    return suspect


def make_footage(case: Any, uploader: Any, name: str = "platform2-cam3.jpg") -> Footage:
    frame = astronaut()
    footage = Footage(case=case, original_name=name, sha256="", size=0, content_type="image/jpeg",
                      kind=Footage.Kind.IMAGE, width=frame.shape[1], height=frame.shape[0], uploaded_by=uploader,
                      status=Footage.Status.DONE, progress=100, frame_count=1)
    footage.original.save(name, ContentFile(jpeg(frame)), save=False)
    footage.sha256 = sha256_of_path(footage.original.path)
    footage.size = footage.original.size
    footage.save()
    return footage


def make_sighting(footage: Footage, track_id: int = 1, suspect: Suspect | None = None, score: float = 0.83) -> Sighting:
    frame = astronaut()
    box = detect_faces(frame)[0].box
    raw = crop_box(frame, box, margin=0.3)  # as the analysis stage keeps crops
    small = cv2.resize(raw, (40, 40), interpolation=cv2.INTER_AREA)  # what a poor camera delivers
    enhanced = cv2.resize(small, (160, 160), interpolation=cv2.INTER_CUBIC)
    records = [{"step": "srcnn", "params": {"scale": 4}, "input_sha256": "a" * 64, "output_sha256": "b" * 64,
                "elapsed_ms": 12.5, "ai_enhanced": True, "weights": "srcnn.weights.h5",
                "weights_sha256": "c" * 64, "versions": {"keras": "3"}, "notes": ""}]
    candidates = [{"suspect_id": suspect.pk, "score": score, "distance": 0.41}] if suspect else []
    sighting = Sighting(footage=footage, track_id=track_id, first_frame=0, last_frame=24, first_ts=0.0, last_ts=0.96,
                        box=list(box), best_frame_index=12, enhancement_records=records, ai_enhanced=True,
                        best_suspect=suspect, best_score=score if suspect else None,
                        top_candidates=candidates,
                        track_frames=[{"frame": 0, "ts": 0.0}, {"frame": 12, "ts": 0.48}, {"frame": 24, "ts": 0.96}])
    sighting.frame.save("frame.jpg", ContentFile(jpeg(frame)), save=False)
    sighting.raw_crop.save("raw.png", ContentFile(png(small)), save=False)
    sighting.enhanced_crop.save("enhanced.png", ContentFile(png(enhanced)), save=False)
    sighting.raw_crop_sha256 = sha256_of_path(sighting.raw_crop.path)
    sighting.enhanced_crop_sha256 = sha256_of_path(sighting.enhanced_crop.path)
    sighting.save()
    return sighting


def make_alert(case: Any, uploader: Any, suspect: Suspect, track_id: int = 1, footage: Footage | None = None,
               score: float = 0.83) -> Alert:
    footage = footage or make_footage(case, uploader)
    sighting = make_sighting(footage, track_id=track_id, suspect=suspect, score=score)
    return Alert.objects.create(footage=footage, sighting=sighting, suspect=suspect, score=score, raw_score=0.52,
                                holds_on_raw=False, camera_name="Platform 2 / cam 3")
