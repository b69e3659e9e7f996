"""One decoder and one face check on every path: the REST API refuses what the web form refuses, a rotated phone
photo (EXIF orientation) is checked, chosen and embedded upright, and every mode of image decodes the same way.

Images are scikit-image's astronaut and coffee photographs (shipped with the package) and files made here.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import files_under
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from enhancement.imageio import ImageDecodeError, decode_image, inspect_image
from facecase.models import AuditEvent
from suspects.face_check import check_path
from suspects.models import SuspectPhoto
from suspects.photo_enrolment import photo_enrol
from tests.ui_factory import astronaut, jpeg, make_suspect, no_face_photo, two_face_photo

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def phone_jpeg(upright_bgr: np.ndarray, orientation: int = 6) -> bytes:
    """What a phone held upright writes: the sensor's landscape pixels plus EXIF orientation ``6`` ("rotate 90
    clockwise to view"), so only a decoder that reads the tag shows the photo upright."""
    stored = Image.fromarray(cv2.cvtColor(upright_bgr, cv2.COLOR_BGR2RGB)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def api_add_photo(client: Client, suspect_id: int, upload: SimpleUploadedFile, **extra: str) -> Any:
    return client.post(f"/api/suspects/{suspect_id}/photos/", {"file": upload, **extra})


# --- the decoder ----------------------------------------------------------------------------------------------


def test_it_decodes_a_rotated_phone_photo_upright():
    upright = astronaut()
    data = phone_jpeg(upright)
    stored = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    assert stored.shape[:2] == (512, 512) and np.abs(stored.astype(int) - upright).mean() > 40  # stored on its side

    decoded = decode_image(data)
    info = inspect_image(data)
    assert (info.width, info.height, info.orientation) == (512, 512, 6)
    assert np.abs(decoded.astype(int) - upright).mean() < 4  # only JPEG loss separates it from the upright original


def test_it_keeps_a_tall_photo_tall_after_the_quarter_turn():
    tall = cv2.resize(astronaut(), (300, 500))
    info = inspect_image(phone_jpeg(tall))
    assert (info.width, info.height) == (300, 500)
    assert decode_image(phone_jpeg(tall)).shape == (500, 300, 3)


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "P", "RGBA", "LA", "L", "1"])
def test_it_decodes_every_image_mode_to_uint8_bgr(mode: str):
    rgb = Image.fromarray(cv2.cvtColor(astronaut(), cv2.COLOR_BGR2RGB))
    if mode == "I;16":
        image = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    else:
        image = rgb.convert(mode)
    buf = io.BytesIO()
    image.save(buf, "JPEG" if mode == "CMYK" else "PNG")
    decoded = decode_image(buf.getvalue())
    assert decoded.dtype == np.uint8 and decoded.shape == (512, 512, 3)
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_BGR2GRAY).astype(int)
    # Every mode still shows the astronaut: the decoded grey image follows the original's (1-bit only roughly).
    correlation = np.corrcoef(cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY).astype(int).ravel(), grey.ravel())[0, 1]
    assert correlation > (0.5 if mode == "1" else 0.95)


def test_it_refuses_a_decompression_bomb_before_decoding_it():
    from tests.media_corpus import png_bomb

    bomb = png_bomb()
    assert len(bomb) < 250_000
    with pytest.raises(ImageDecodeError, match="1,600 megapixels; the limit is 50 megapixels"):
        decode_image(bomb)


# --- the face check on every path --------------------------------------------------------------------------------


def test_it_refuses_an_api_photo_without_a_face_like_the_web_form(alice: Any, private_media: Path):
    suspect = make_suspect(alice, photo=False)
    response = api_add_photo(logged_in(alice), suspect.pk, no_face_photo())
    assert response.status_code == 400
    assert response.json() == {"file": ["No face found in this photo. Use a clear, front-facing photo of one person."]}
    web = logged_in(alice).post(f"/suspects/{suspect.pk}/photos/", {"photo": no_face_photo()}).content.decode()
    assert "No face found in this photo. Use a clear, front-facing photo of one person." in web
    assert not SuspectPhoto.objects.exists() and not AuditEvent.objects.filter(verb="add_photo").exists()
    assert files_under(private_media) == []


def test_it_refuses_an_api_photo_with_two_faces_until_one_is_chosen(alice: Any, private_media: Path):
    suspect = make_suspect(alice, photo=False)
    client = logged_in(alice)
    response = api_add_photo(client, suspect.pk, two_face_photo())
    assert response.status_code == 400
    message = response.json()["file"][0]
    assert message.startswith("2 faces found in this photo; say which is the suspect's with face_box")
    assert not SuspectPhoto.objects.exists() and files_under(private_media) == []

    faces = check_path_of(two_face_photo(), private_media)
    right = max(faces, key=lambda box: box[0])
    response = api_add_photo(client, suspect.pk, two_face_photo(), face_box=",".join(map(str, right)))
    assert response.status_code == 201, response.content
    photo = SuspectPhoto.objects.get()
    assert photo.face_box == list(right) and response.json()["face_box"] == list(right)
    result = photo_enrol(photo=photo)
    assert result.enrolled and result.faces == [tuple(right)]


def check_path_of(upload: SimpleUploadedFile, folder: Path) -> list[tuple[int, int, int, int]]:
    path = folder.parent / upload.name
    path.write_bytes(upload.read())
    check = check_path(str(path))
    path.unlink()
    assert check is not None
    return check.faces


@pytest.mark.parametrize("box", ["0,0,5000,5000", "1,2,3", "a,b,c,d", "-4,0,100,100"])
def test_it_refuses_a_face_box_outside_the_photo(alice: Any, private_media: Path, box: str):
    suspect = make_suspect(alice, photo=False)
    response = api_add_photo(logged_in(alice), suspect.pk, two_face_photo(), face_box=box)
    assert response.status_code == 400, response.content
    body = response.json()
    assert "face_box" in body or "face_box" in body.get("file", [""])[0]
    assert not SuspectPhoto.objects.exists() and files_under(private_media) == []


def test_it_enrols_a_rotated_phone_photo_upright_from_the_api(alice: Any):
    from enhancement.embed import embed_face

    suspect = make_suspect(alice, photo=False)
    upload = SimpleUploadedFile("phone.jpg", phone_jpeg(astronaut()), content_type="image/jpeg")
    response = api_add_photo(logged_in(alice), suspect.pk, upload)
    assert response.status_code == 201, response.content
    photo = SuspectPhoto.objects.get()
    result = photo_enrol(photo=photo)
    assert result.enrolled, result.message
    upright = decode_image(jpeg(astronaut()))
    expected = embed_face(upright, box=tuple(photo.face_box))
    assert np.linalg.norm(np.frombuffer(bytes(photo.embedding), np.float32) - expected) < 0.06
    crop = cv2.imdecode(np.frombuffer(photo.crop.read(), np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[0] >= crop.shape[1] * 0.9  # the face crop of an upright head, not one lying on its side


def test_it_embeds_the_chosen_face_of_a_rotated_photo_on_the_same_pixels(alice: Any):
    """The web chooser numbers faces on the upright photo; enrolment must embed exactly that face."""
    from enhancement.embed import embed_face

    pair = np.hstack([astronaut(), cv2.flip(astronaut(), 1)])
    suspect = make_suspect(alice, photo=False)
    client = logged_in(alice)
    upload = SimpleUploadedFile("pair-phone.jpg", phone_jpeg(pair), content_type="image/jpeg")
    response = client.post(f"/suspects/{suspect.pk}/photos/", {"photo": upload})
    photo = SuspectPhoto.objects.get()
    assert response["Location"] == f"/suspects/photos/{photo.pk}/face/"
    faces = check_path(photo.image.path).faces
    left = min(range(len(faces)), key=lambda i: faces[i][0])
    assert len(faces) == 2 and faces[left][0] < 512 and inspect_image(photo.image.path).width == 1024
    client.post(f"/suspects/photos/{photo.pk}/face/", {"face": str(left)})
    photo.refresh_from_db()
    assert photo_enrol(photo=photo).enrolled
    upright = decode_image(photo.image.path)
    expected = embed_face(upright, box=tuple(faces[left]))
    assert np.allclose(np.frombuffer(bytes(photo.embedding), np.float32), expected, atol=1e-5)
