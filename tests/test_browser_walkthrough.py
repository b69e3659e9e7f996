# ruff: noqa: F811
"""Issue 18, a first-time user's walk-through in a real headless Chromium against the real stack (daphne + a
qcluster worker + Redis). Two stories keep the browser sessions few:

- an analyst (an account named "analyst") creates a case, is refused a text file in words they can act on, uploads a
  photo and watches its sighting appear on the footage page without reloading, opens the sighting (raw and enhanced
  crops), its provenance (the hash chain checked), and reads it all on a 400 px wide screen;
- an operator filters the queue (the cases of their alerts, an empty result, From after To, an unknown status),
  dismisses an alert with one key and undoes it, and keeps a quiet "live" badge while the socket reconnects; then
  an admin looks at the registry and finds one view in the audit log, not a download per thumbnail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DATA, make_user, registry_settled, shared_file, wait_for

pytest.importorskip("selenium")
from test_browser_ui import click, image_loaded, shoot, sign_in, text_of, with_password  # noqa: E402
from test_platform_browser import browser, server  # noqa: E402,F401

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OBAMA = SHARED_DATA / "face_recognition_examples" / "obama-480p.jpg"


def night_still(tmp_path: Path) -> Path:
    """The photo as a dim night camera would take it (a third of the light), so the analysis enhances the face."""
    import cv2

    from enhancement.imageio import decode_image

    image = decode_image(shared_file(OBAMA))
    path = tmp_path / "night-still.jpg"
    cv2.imwrite(str(path), (image.astype("float32") * 0.3).astype("uint8"))
    return path


def page_width(driver: Any) -> int:
    return int(driver.execute_script("return document.documentElement.scrollWidth"))


def too_wide(driver: Any, width: int) -> list[str]:
    """The innermost elements reaching past the window's right edge (what makes a page scroll sideways)."""
    return driver.execute_script("""
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            const inner = [...el.children].some(c => c.getBoundingClientRect().right > arguments[0] + 1);
            if (r.right > arguments[0] + 1 && !inner)
                out.push(el.tagName + '.' + el.className + '#' + el.id + ' right=' + Math.round(r.right));
        }
        return out.slice(0, 8);""", width)


def test_it_walks_an_analyst_from_a_new_case_to_a_sightings_provenance(
    server: str, browser: Any, live_worker: Any, alice: Any, tmp_path: Path,
):
    from selenium.webdriver.common.by import By

    from facecase.models import AuditEvent, Case
    from footage.models import Footage, Sighting
    from tests.ui_factory import make_suspect

    analyst = with_password(make_user("analyst", "analyst"))
    make_suspect(alice)  # Eileen Collins: the registry the photo is matched against
    version = registry_settled(1, live_worker)
    sign_in(browser, server, analyst)

    # The header names the account once ("analyst", not "analyst analyst"); the page has an icon that loads.
    assert browser.find_element(By.CSS_SELECTOR, ".who .user").text.strip() == "analyst"
    icon = browser.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
    assert browser.execute_script("return fetch(arguments[0]).then(r => r.status)", icon) == 200

    # New case: errors sit on their fields (aria-invalid, aria-describedby naming the message), then "created".
    browser.get(f"{server}/cases/new/")
    click(browser, browser.find_element(By.CSS_SELECTOR, "#case-new-form button.primary"))
    reference = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#id_reference[aria-invalid=true]"),
                         timeout_s=30, what="the reference field marked invalid")[0]
    described = reference.get_attribute("aria-describedby").split()
    messages = [browser.find_elements(By.ID, name) for name in described]
    assert any(found and "required" in found[0].text for found in messages), described
    browser.find_element(By.ID, "id_reference").send_keys("C-2026-018")
    browser.find_element(By.ID, "id_title").send_keys("Walk-through")
    click(browser, browser.find_element(By.CSS_SELECTOR, "#case-new-form button.primary"))
    wait_for(lambda: "Case C-2026-018 created" in text_of(browser, "main"), timeout_s=30, what="the created message")
    case = Case.objects.get(reference="C-2026-018")

    # A text file (named like a video) is refused in words the user can act on; the technical reason is in the
    # audit log for admins.
    notes = tmp_path / "notes.mp4"
    notes.write_text("Witness statement: the man wore a red cap.\n" * 20)
    browser.find_element(By.ID, "id_file").send_keys(str(notes))
    click(browser, browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]"))
    error = wait_for(lambda: text_of(browser, "upload-error"), timeout_s=30, what="the refusal")
    assert "not an image or video FaceCase can read (supported:" in error and "OpenCV" not in error, error
    refusal = AuditEvent.objects.get(verb="upload_refused", object_id=str(case.pk))
    assert "OpenCV" in refusal.details["reason"]

    # A photo: the footage page shows its sighting when the analysis ends, without a reload.
    browser.find_element(By.ID, "id_file").clear()
    browser.find_element(By.ID, "id_file").send_keys(str(night_still(tmp_path)))
    click(browser, browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]"))
    footage = wait_for(lambda: Footage.objects.filter(case=case).first(), timeout_s=60, what="the upload")
    wait_for(lambda: browser.current_url.endswith(f"/footage/{footage.pk}/"), timeout_s=60, what="the footage page")
    browser.execute_script("window.__sameFootagePage = true;")
    tiles_at_start = len(browser.find_elements(By.CSS_SELECTOR, "#footage-sightings .tile"))
    wait_for(lambda: Footage.objects.get(pk=footage.pk).status in ("done", "failed"), timeout_s=600,
             what="the analysis", worker=live_worker)
    footage.refresh_from_db()
    assert footage.status == "done", footage.error
    sighting = Sighting.objects.filter(footage=footage).order_by("track_id").first()
    assert sighting is not None, "the analysis found no face in the photo"
    tile_css = f'#footage-sightings [data-sighting-id="{sighting.pk}"]'

    def tile_text() -> str:
        # Looked up afresh each time: the live page re-renders the list on each event of the analysis, so an element
        # found a moment ago may be gone (a stale reference is retried by wait_for).
        found = browser.find_elements(By.CSS_SELECTOR, tile_css)
        return found[0].text if found else ""

    text = wait_for(lambda: "No match in registry" in (t := tile_text()) and t, timeout_s=30,
                    what="the sighting tile to appear by itself, labelled")
    assert browser.execute_script("return window.__sameFootagePage === true")
    assert tiles_at_start == 0
    assert f"{footage.width}×{footage.height}" in browser.find_element(By.ID, "footage-facts").text
    # Labels: track 1 (whatever the analysis' own id), a still, and against which registry nothing matched.
    assert "Track 1 · still image" in text
    assert f"No match in registry v{version.number} (1 suspect)" in text
    shoot(browser, "footage-results-live")

    # The tile opens the sighting: raw and enhanced side by side, links back, provenance whose chain holds.
    def open_tile() -> bool:
        click(browser, browser.find_element(By.CSS_SELECTOR, f"{tile_css} a.tile-link"))
        return True

    wait_for(open_tile, timeout_s=30, what="the sighting tile's link to be clicked")
    wait_for(lambda: browser.current_url.endswith(f"/sightings/{sighting.pk}/"), timeout_s=30, what="sighting page")
    for selector in ("#sighting-raw", "#sighting-enhanced"):
        wait_for(lambda s=selector: image_loaded(browser, s), timeout_s=30, what=f"{selector} to load")
    crumbs = browser.find_element(By.CSS_SELECTOR, ".crumbs")
    assert crumbs.find_element(By.LINK_TEXT, "C-2026-018") and crumbs.find_element(By.LINK_TEXT, footage.original_name)
    label = "AI-enhanced" if sighting.ai_enhanced else "Enhanced, no learned step"
    assert label in browser.find_element(By.ID, "crops-h").find_element(By.XPATH, "..").text
    shoot(browser, "sighting-page")
    click(browser, browser.find_element(By.ID, "provenance-link"))
    wait_for(lambda: image_loaded(browser, "#prov-raw") and image_loaded(browser, "#prov-enhanced"), timeout_s=30,
             what="the provenance images")
    chain = browser.find_element(By.ID, "chain-check").text
    assert "holds" in chain and "✗" not in chain, chain
    raw_pixels = browser.find_element(By.ID, "raw-pixel-sha").text
    inputs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".step-input")]
    outputs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".step-output")]
    # The dim face was enhanced: input(1) = raw pixels, output(n) = enhanced pixels, visibly on the page.
    assert inputs and sighting.enhancement_records
    assert inputs[0] == raw_pixels and outputs[-1] == browser.find_element(By.ID, "enhanced-pixel-sha").text
    assert "{" not in browser.find_element(By.CSS_SELECTOR, "table.params").text  # a table, not dict text
    assert "file SHA-256" in browser.find_element(By.ID, "crop-hashes").text
    assert "pixel" in browser.find_element(By.ID, "hash-definitions").text
    shoot(browser, "provenance")

    # 400 px wide: nothing scrolls sideways, Log out is reachable, the navigation opens from its button.
    browser.set_window_size(400, 860)
    for path in (f"/sightings/{sighting.pk}/", f"/footage/{footage.pk}/", "/alerts/", f"/cases/{case.pk}/", "/cases/"):
        browser.get(f"{server}{path}")
        assert page_width(browser) <= 400, (path, page_width(browser), too_wide(browser, 400))
        logout = browser.find_element(By.CSS_SELECTOR, ".who button")
        assert logout.is_displayed() and logout.rect["x"] + logout.rect["width"] <= 400, path
    nav = browser.find_element(By.ID, "main-nav")
    assert not nav.is_displayed()
    click(browser, browser.find_element(By.ID, "nav-toggle"))
    assert nav.is_displayed() and browser.find_element(By.ID, "nav-toggle").get_attribute("aria-expanded") == "true"
    browser.get(f"{server}/footage/{footage.pk}/")
    shoot(browser, "footage-400px", width=400)
    browser.set_window_size(1280, 900)


def test_it_filters_the_queue_honestly_undoes_a_key_decision_and_logs_one_registry_view(
    server: str, browser: Any, live_worker: Any, alice: Any, bob: Any, charlie: Any, charlies_case: Any,
):
    from django.contrib.auth import get_user_model
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from facecase.models import AuditEvent
    from footage.models import Alert
    from tests.ui_factory import make_alert, make_suspect

    eileen = make_suspect(alice)
    kafka = make_suspect(alice, name="Franz Kafka", external_id="W-0002", status="missing")
    older = make_alert(charlies_case, charlie, kafka, track_id=1)
    alert = make_alert(charlies_case, charlie, eileen, track_id=2)
    with_password(bob)
    with_password(alice)
    sign_in(browser, server, bob)

    # The Case filter offers the cases of the operator's alerts (bob is a member of none).
    browser.get(f"{server}/alerts/")
    options = [o.text for o in Select(browser.find_element(By.ID, "f-case")).options]
    assert options == ["Any", charlies_case.reference]
    # A filter that matches nothing says so, with a Reset; it is not "All caught up".
    browser.get(f"{server}/alerts/?status=new&suspect=Nobody+Atall")
    empty = browser.find_element(By.ID, "queue-empty")
    assert "No alert matches these filters" in empty.text and "All caught up" not in empty.text
    assert empty.find_element(By.ID, "filters-reset").get_attribute("href").endswith("/alerts/")
    # From after To, and an unknown status, are said next to their fields.
    browser.get(f"{server}/alerts/?status=new&date_from=2026-05-02&date_to=2026-05-01")
    assert "is before “From”" in browser.find_element(By.ID, "f-to-error").text
    assert browser.find_element(By.ID, "f-to").get_attribute("aria-invalid") == "true"
    browser.get(f"{server}/alerts/?status=bogus")
    assert "Unknown status “bogus”" in browser.find_element(By.ID, "f-status-error").text

    # One key decides; the page says what was done and offers Undo; Undo makes the alert new again, audited.
    browser.get(f"{server}/alerts/")
    wait_for(lambda: browser.find_element(By.ID, "live-status").text == "live", timeout_s=30, what="bob's socket")
    hint = browser.find_element(By.ID, "kbd-help").text
    assert all(key in hint for key in ("j", "k", "c", "d", "n", "u")), hint
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    body.send_keys("d")
    wait_for(lambda: Alert.objects.get(pk=alert.pk).status == "dismissed", timeout_s=30, what="the dismissal")
    bar = wait_for(lambda: (lambda b: b if b.is_displayed() else None)(browser.find_element(By.ID, "undo-bar")),
                   timeout_s=10, what="the undo bar")
    assert f"Alert {alert.pk}" in bar.text and "Dismissed" in bar.text
    shoot(browser, "alert-queue-undo")
    click(browser, browser.find_element(By.ID, "undo-btn"))
    wait_for(lambda: Alert.objects.get(pk=alert.pk).status == "new", timeout_s=30, what="the undo")
    undo = AuditEvent.objects.get(verb="review_undo", object_id=str(alert.pk))
    assert undo.actor_username == "bob" and undo.details["from"] == "dismissed"
    assert Alert.objects.get(pk=older.pk).status == "new"
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f'tr[data-alert-id="{alert.pk}"]')
             .get_attribute("data-status") == "new", timeout_s=10, what="the row to be new again")

    # A dropped socket reconnects quietly: the badge does not flicker to "offline".
    browser.execute_script("window.FaceCase.socket.close()")
    seen = set()
    for _ in range(10):
        seen.add(browser.find_element(By.ID, "live-status").text)
        browser.execute_script("return new Promise(r => setTimeout(r, 150))")
    assert seen == {"live"}, seen
    wait_for(lambda: browser.find_element(By.ID, "live-status").get_attribute("data-connected") == "1",
             timeout_s=15, what="the socket to come back")

    # The admin's registry visit is one view, not one download per thumbnail; the log reads as names and lines.
    browser.delete_all_cookies()
    sign_in(browser, server, alice)
    before = AuditEvent.objects.filter(verb="download").count()
    browser.get(f"{server}/suspects/")
    wait_for(lambda: image_loaded(browser, "img.thumb"), timeout_s=30, what="the registry thumbnails")
    assert AuditEvent.objects.filter(verb="download").count() == before
    assert AuditEvent.objects.filter(verb="view", object_type="suspects.registry").count() == 1
    browser.get(f"{server}/audit/?verb=review_undo")
    row = browser.find_element(By.CSS_SELECTOR, "#audit-table tbody tr")
    assert row.find_element(By.LINK_TEXT, f"alert {alert.pk} (Eileen Collins)").get_attribute("href").endswith(
        f"/alerts/{alert.pk}/")
    assert "dismissed → new" in row.find_element(By.CSS_SELECTOR, ".audit-details").text
    assert "{" not in row.find_element(By.CSS_SELECTOR, ".audit-details").text.split("JSON")[0]
    assert [o.text for o in Select(browser.find_element(By.ID, "id_object_type")).options if o.text != "Any"]
    browser.get(f"{server}/audit/")
    shoot(browser, "audit-log")

    # Users and roles without leaving the app: a new operator, then bob deactivated; both in the audit log.
    click(browser, browser.find_element(By.LINK_TEXT, "Users"))
    browser.find_element(By.ID, "id_username").send_keys("erin")
    browser.find_element(By.ID, "id_password").send_keys("Kestrel-Harbour-41")
    click(browser, browser.find_element(By.CSS_SELECTOR, 'input[name=roles][value=operator]'))
    click(browser, browser.find_element(By.CSS_SELECTOR, "#user-create-form button.primary"))
    wait_for(lambda: "User erin created." in text_of(browser, "main"), timeout_s=30, what="erin to be created")
    erin = get_user_model().objects.get(username="erin")
    assert erin.groups.filter(name="operator").exists() and erin.check_password("Kestrel-Harbour-41")
    browser.get(f"{server}/users/{bob.pk}/")
    click(browser, browser.find_element(By.ID, "deactivate-btn"))
    wait_for(lambda: "bob deactivated" in text_of(browser, "main"), timeout_s=30, what="bob to be deactivated")
    assert not get_user_model().objects.get(pk=bob.pk).is_active
    browser.get(f"{server}/users/")
    shoot(browser, "users")
    assert {"user_create", "user_deactivate"} <= set(AuditEvent.objects.values_list("verb", flat=True))
