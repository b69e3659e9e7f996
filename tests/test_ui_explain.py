"""The explanation heat-map: the occlusion method finds the regions a distance depends on, the alert's map is
computed once, cached with its SHA-256 and served only while it still matches."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.test import Client

from enhancement.explain import occlusion_map, render_overlay
from facecase.models import AuditEvent
from footage import explanations
from footage.models import Alert
from tests.ui_factory import astronaut, make_alert, make_suspect

pytestmark = pytest.mark.django_db
HAS_EMBEDDER = importlib.util.find_spec("enhancement.embed") is not None


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pixel_embed(image: np.ndarray, box: Any = None) -> np.ndarray:
    """A crude but real embedding: the grey image at 8x8, unit length. Enough to test the plumbing without the
    dlib model; the dlib test below covers the real one."""
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32)
    grey -= grey.mean()
    return grey.ravel() / (np.linalg.norm(grey) + 1e-6)


def test_it_marks_only_the_region_the_distance_depends_on():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    reference = image[:20, :20].astype(np.float32)

    def top_left_distance(candidate: np.ndarray) -> float:
        return float(np.abs(candidate[:20, :20].astype(np.float32) - reference).mean())

    result = occlusion_map(image, top_left_distance)
    assert result.base_distance == 0.0
    assert result.heat[:12, :12].min() > 0  # hiding any of it moves the face away
    assert result.heat[40:, 40:].max() == 0  # the distance never looks there
    y, x = np.unravel_index(np.argmax(result.heat), result.heat.shape)
    assert y < 20 and x < 20
    assert result.params["patch"] == 12 and result.evaluations > 1


def test_it_draws_the_overlay_red_where_the_map_is_hot():
    image = np.full((40, 40, 3), 128, np.uint8)
    image[:10, :10] = 255  # the one feature the distance looks at
    result = occlusion_map(image, lambda img: float(255 - img[:10, :10].mean()) / 255)
    overlay = render_overlay(image, result, size=160)
    assert overlay.shape == (160, 160, 3) and overlay.dtype == np.uint8
    hot, cold = overlay[10, 10].astype(int), overlay[150, 150].astype(int)
    assert hot[2] > hot[0] + 40  # red over blue (BGR) where hiding mattered
    assert tuple(cold) == (128, 128, 128)  # untouched where it did not


def test_it_computes_caches_and_serves_an_alerts_explanation(alice: Any, bob: Any, charlie: Any, charlies_case: Any):
    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    assert explanations.explanation_state(alert) == {"state": "none"}
    record = explanations.compute_explanation(alert, embed=pixel_embed)
    assert record["state"] == "ready" and record["crop"] == "enhanced_crop" and record["max_increase"] > 0
    client = logged_in(bob)
    state = client.get(f"/alerts/{alert.pk}/explain/").json()
    assert state["url"] == f"/alerts/{alert.pk}/explain.png" and state["sha256"] == record["sha256"]
    image = client.get(state["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    decoded = cv2.imdecode(np.frombuffer(b"".join(image.streaming_content), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[1] == 256
    assert 'id="explain-img"' in client.get(f"/alerts/{alert.pk}/").content.decode()
    # Asking again neither recomputes nor queues: the cached record is the answer.
    png = explanations.verified_explanation_path(alert)
    before = png.stat().st_mtime_ns
    assert client.post(f"/alerts/{alert.pk}/explain/").json()["state"] == "ready"
    assert explanations.explain_alert_task(alert.pk) == "ready" and png.stat().st_mtime_ns == before
    # A changed image is evidence tampering: it is not served.
    Path(png).write_bytes(b"\x89PNG not the one we made")
    assert client.get(state["url"]).status_code == 404


def test_it_queues_the_computation_once_per_alert(alice: Any, bob: Any, charlie: Any, charlies_case: Any,
                                                   queue_env: dict[str, str]):
    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    client = logged_in(bob)
    assert client.post(f"/alerts/{alert.pk}/explain/").json()["state"] == "queued"
    assert client.post(f"/alerts/{alert.pk}/explain/").json()["state"] == "queued"
    assert AuditEvent.objects.filter(verb="explain_request", object_id=str(alert.pk)).count() == 1
    assert "Computing" in client.get(f"/alerts/{alert.pk}/").content.decode()


def test_it_marks_an_explanation_failed_when_the_queue_is_unreachable(alice: Any, bob: Any, charlie: Any,
                                                                     charlies_case: Any, monkeypatch: Any):
    from django_q.conf import Conf

    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there
    state = logged_in(bob).post(f"/alerts/{alert.pk}/explain/").json()
    assert state["state"] == "failed" and "could not be queued" in state["error"]
    monkeypatch.undo()
    assert logged_in(bob).post(f"/alerts/{alert.pk}/explain/").json()["state"] == "queued"  # asking again retries


def test_it_keeps_other_analysts_away_from_an_explanation(alice: Any, charlie: Any, dave: Any, charlies_case: Any):
    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    explanations.compute_explanation(alert, embed=pixel_embed)
    assert logged_in(dave).get(f"/alerts/{alert.pk}/explain.png").status_code == 404
    assert logged_in(charlie).get(f"/alerts/{alert.pk}/explain.png").status_code == 200


@pytest.mark.skipif(not HAS_EMBEDDER, reason="enhancement.embed (the dlib embedder) is not in this checkout yet")
def test_it_explains_with_the_real_face_embedder(alice: Any, charlie: Any, charlies_case: Any):
    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    assert explanations.explain_alert_task(alert.pk) == "ready"
    state = explanations.explanation_state(Alert.objects.get(pk=alert.pk))
    assert state["base_distance"] < 0.6  # the astronaut crop against her own enrolled photo
    assert state["max_increase"] > 0
    assert astronaut().shape == (512, 512, 3)
