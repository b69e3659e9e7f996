"""What a person is told when an upload or its analysis fails: the one place that turns a technical reason
(``ValidationError`` codes from ``facecase/files.py`` and ``facecase/uploads.py``, a ``ProcessingError``) into words
saying what the user can do. The technical reason itself is kept for admins (the audit log's ``upload_refused``
event, the footage's job log); the REST API keeps answering with the technical text (its clients are programs)."""

from __future__ import annotations

SUPPORTED = "images (JPEG, PNG, BMP, TIFF, WebP) and videos (MP4, MOV, AVI, MKV, WebM, MPEG, animated GIF)"

_BY_CODE = {
    "bad_video": f"This file is not an image or video FaceCase can read (supported: {SUPPORTED}). "
                 "If it is a video, it may be cut short or use a codec FaceCase lacks: export it again as MP4 (H.264).",
    "bad_image": f"This file is not an image or video FaceCase can read (supported: {SUPPORTED}). "
                 "If it is a photo, it may be damaged or cut short: save or export it again.",
    "bad_file": f"This file is not an image or video FaceCase can read (supported: {SUPPORTED}).",
    "empty": "This file is empty (0 bytes). Choose the file again; the copy may not have finished.",
    "missing": "Choose a file to upload first.",
    "closed": "This case is closed. Reopen it to add footage.",
}


def upload_refusal_message(code: str | None, technical: str) -> str:
    """The sentence shown for a refused upload. Reasons without a mapping (the size limit, whose message already
    names the limit) are shown as the service wrote them, capitalised."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    text = technical.strip() or "The upload was refused."
    return text[0].upper() + text[1:]


def analysis_failure_message(technical: str) -> str:
    """The sentence the footage page shows for a failed analysis; the job log keeps ``technical`` word for word."""
    lowered = technical.lower()
    if "could not open" in lowered or "not a readable" in lowered or "no frame" in lowered:
        return _BY_CODE["bad_video"]
    return technical
