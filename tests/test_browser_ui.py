# ruff: noqa: F811
"""The pages in a real headless Chromium against the real stack (daphne + a qcluster worker + Redis).

The stories: an analyst uploads the Hamilton clip (a real XHR progress bar, then live analysis progress to done)
while an operator already on the alert queue receives the alerts the worker raises without reloading, opens one,
sees both crops and the suspect's photo, asks for the explanation and confirms; a second operator on the same alert
sees that decision arrive live. An admin adds a suspect with a photo that has no face and is told so. Screenshots of
the main pages go to a temporary folder; with ``FACECASE_SCREENSHOTS=docs/screenshots`` they refresh the README's
(a test run must not rewrite tracked files).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HAMILTON_CLIP, REPO_ROOT, SHARED_DATA, make_user, registry_settled, shared_file, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile

pytest.importorskip("selenium")
# The daphne server and browser fixtures are the platform tests'; pytest finds fixtures by name, hence F811 below.
from test_platform_browser import browser, log_in, server  # noqa: E402,F401

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("FACECASE_SCREENSHOTS") or tempfile.mkdtemp(prefix="facecase-screenshots-"))
if not SCREENSHOTS.is_absolute():
    SCREENSHOTS = REPO_ROOT / SCREENSHOTS
EXAMPLES = SHARED_DATA / "face_recognition_examples"


def with_password(user: Any) -> Any:
    from django.contrib.auth.hashers import make_password

    # The server process hashes with the production hasher list, so store a hash it knows.
    user.password = make_password(f"{user.username}-browser-pw", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    return user


def sign_in(driver: Any, server: str, user: Any) -> None:
    log_in(driver, server, user.username, f"{user.username}-browser-pw")
    wait_for(lambda: "/login/" not in driver.current_url, timeout_s=30, what=f"{user.username} to log in")


def shoot(driver: Any, name: str, width: int = 1280) -> None:
    """A full-page screenshot (the window grows to the page's height first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Lazy images below the fold would be blank: load them all, then wait until every one has arrived.
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    wait_for(lambda: driver.execute_script(
        "return [...document.images].filter(i => !i.hidden).every(i => i.complete)"), timeout_s=30,
        what=f"the images of {name} to load")
    driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 700)")
    driver.set_window_size(width, min(int(height) + 120, 2400))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1280, 900)


def new_browser(tmp_path: Path, name: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from test_platform_browser import CHROMEDRIVER, CHROMIUM

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={tmp_path / name}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def second_browser(tmp_path: Path) -> Iterator[Any]:
    driver = new_browser(tmp_path, "second-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def hamilton_registry(alice: Any, live_worker: Any) -> dict[str, Any]:
    """Lin-Manuel Miranda and Alex Lacamoire enrolled from their reference photos; the worker's automatic rebuild
    makes the gallery the footage is matched against."""
    from suspects.models import Suspect
    from suspects.services import suspect_create, suspect_photo_add

    people = {}
    for key, name, external_id, status, photo in (
        ("lin", "Lin-Manuel Miranda", "H-LMM", Suspect.Status.WANTED, "lin-manuel-miranda.png"),
        ("alex", "Alex Lacamoire", "H-AL", Suspect.Status.PERSON_OF_INTEREST, "alex-lacamoire.png"),
    ):
        suspect = suspect_create(actor=alice, name=name, external_id=external_id, status=status)
        path = shared_file(EXAMPLES / photo)
        suspect_photo_add(actor=alice, suspect=suspect, upload=SimpleUploadedFile(path.name, path.read_bytes()))
        people[key] = suspect
    registry_settled(2, live_worker)
    return people


def click(driver: Any, element: Any) -> None:
    """Click an element after scrolling it to the middle of the window (clear of the sticky top bar)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def text_of(driver: Any, element_id: str) -> str:
    """The element's text, or "" while the page is being replaced (a form was just submitted)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return driver.find_element("id", element_id).text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def image_loaded(driver: Any, selector: str) -> bool:
    return bool(driver.execute_script(
        "const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth > 0;", selector))


def test_it_takes_an_upload_to_done_and_an_alert_from_queue_to_confirmed(
    server: str, browser: Any, second_browser: Any, live_worker: Any, hamilton_registry: dict[str, Any],
    charlie: Any, bob: Any, charlies_case: Any, tmp_path: Path,
):
    from selenium.webdriver.common.by import By

    from footage.models import Alert, Footage

    carol = with_password(make_user("carol", "operator"))
    with_password(charlie)
    with_password(bob)

    # The operator is already watching the queue: it is empty, and the page will not be reloaded.
    sign_in(browser, server, bob)
    browser.get(f"{server}/alerts/")
    wait_for(lambda: browser.find_element(By.ID, "live-status").text == "live", timeout_s=30, what="bob's socket")
    assert browser.find_element(By.ID, "queue-empty").is_displayed()
    browser.execute_script("window.__sameQueuePage = true;")
    shoot(browser, "alert-queue-empty")

    # The analyst uploads over a slowed link, so the XHR progress is seen between 0 and 100 %.
    sign_in(second_browser, server, charlie)
    second_browser.get(f"{server}/cases/{charlies_case.pk}/")
    second_browser.set_network_conditions(offline=False, latency=20, download_throughput=10_000_000,
                                          upload_throughput=150 * 1024)
    second_browser.find_element(By.ID, "id_file").send_keys(str(shared_file(HAMILTON_CLIP)))
    second_browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    seen = wait_for(lambda: (lambda v: v if 0 < v < 100 else None)(
        second_browser.execute_script("return document.getElementById('upload-bar')?.value || 0")),
        timeout_s=30, what="the upload bar to move")
    assert "Uploading short_hamilton_clip.mp4" in second_browser.find_element(By.ID, "upload-text").text
    shoot(second_browser, "case-upload-progress")
    assert 0 < seen < 100
    footage = wait_for(lambda: Footage.objects.filter(case=charlies_case).first(), timeout_s=60, what="the upload")
    wait_for(lambda: second_browser.current_url.endswith(f"/footage/{footage.pk}/"), timeout_s=60,
             what="the footage page after the upload")
    second_browser.delete_network_conditions()

    def job_status() -> str:  # textContent: the CSS capitalises what is shown
        return second_browser.find_element(By.ID, "job-status").get_attribute("textContent").strip()

    # The worker may still be busy with another job (it runs one at a time), so these limits are generous.
    wait_for(lambda: job_status() in ("processing", "done"), timeout_s=600, what="processing", worker=live_worker)
    wait_for(lambda: len(second_browser.find_elements(By.CSS_SELECTOR, "[data-footage-log] li")) >= 3,
             timeout_s=300, what="live log lines", worker=live_worker)
    shoot(second_browser, "footage-live-progress")
    wait_for(lambda: job_status() in ("done", "failed"), timeout_s=900, what="the analysis to finish",
             worker=live_worker)
    footage.refresh_from_db()
    assert job_status() == "done", footage.error
    assert second_browser.find_element(By.ID, "job-percent").text == "100%"
    second_browser.refresh()
    shoot(second_browser, "footage-done")
    second_browser.get(f"{server}/cases/{charlies_case.pk}/")
    shoot(second_browser, "case-page")
    second_browser.get(f"{server}/cases/")
    shoot(second_browser, "cases")
    second_browser.get(f"{server}/sightings/?q=Lin-Manuel")
    wait_for(lambda: second_browser.find_elements(By.CSS_SELECTOR, ".gallery .tile"), timeout_s=30,
             what="the sightings of Lin-Manuel Miranda")
    shoot(second_browser, "sightings-search")

    # The worker's alerts reached the operator's open queue without a reload, with a count in the header.
    alerts = list(Alert.objects.filter(footage=footage).order_by("-score"))
    assert alerts, "the analysis raised no alert for the two enrolled people"
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#alert-rows tr.alert-row")) == len(alerts),
             timeout_s=60, what="the alerts to appear live in the queue")
    assert browser.execute_script("return window.__sameQueuePage === true")
    assert browser.find_element(By.ID, "alert-count").text == str(len(alerts))
    assert browser.title.startswith(f"({len(alerts)})")
    shoot(browser, "alert-queue-live")

    # Open the strongest alert with the keyboard: j selects the first row, Enter opens it.
    top = alerts[0]
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    row_ids = [r.get_attribute("data-alert-id") for r in browser.find_elements(By.CSS_SELECTOR, "#alert-rows tr")]
    click(browser, browser.find_element(By.CSS_SELECTOR, f'#alert-rows tr[data-alert-id="{top.pk}"] a.alert-link'))
    wait_for(lambda: browser.current_url.endswith(f"/alerts/{top.pk}/"), timeout_s=30, what="the review page")
    assert str(top.pk) in row_ids
    for selector in ("#raw-crop", "#enhanced-crop", "#suspect-photo", "#full-frame"):
        wait_for(lambda s=selector: image_loaded(browser, s), timeout_s=30, what=f"{selector} to load")
    page = browser.find_element(By.CSS_SELECTOR, ".review").text
    assert top.suspect.name in page and top.suspect.external_id in page
    # The track's frames were averaged (a long track): the review shows that computed image beside the crops, says
    # how many frames it averages and whether its distance decided the match, as stored.
    sighting = top.sighting
    assert sighting.averaged_chip and len(sighting.averaged_chip_record["frames"]) >= 2
    wait_for(lambda: image_loaded(browser, "#averaged-chip"), timeout_s=30, what="the averaged chip to load")
    figure = browser.find_element(By.ID, "averaged-figure").text
    frames = len(sighting.averaged_chip_record["frames"])
    assert "Computed" in figure and f"average of {frames} aligned frames" in figure
    stored = next(c for c in sighting.top_candidates if c["suspect_id"] == top.suspect_id)
    assert ("brought the match's distance down" in figure) == (stored["view"] == "averaged chip"), figure

    # The explanation is computed by the worker on request and appears in place.
    click(browser, browser.find_element(By.ID, "explain-btn"))
    wait_for(lambda: image_loaded(browser, "#explain-img"), timeout_s=300, what="the explanation heat-map",
             worker=live_worker)
    shoot(browser, "alert-review")

    # A second operator has the same alert open and sees bob's decision arrive.
    second_browser.delete_all_cookies()
    sign_in(second_browser, server, carol)
    second_browser.get(f"{server}/alerts/{top.pk}/")
    wait_for(lambda: second_browser.find_element(By.ID, "live-status").text == "live", timeout_s=30,
             what="carol's socket")
    second_browser.execute_script("window.__sameReviewPage = true;")

    browser.find_element(By.ID, "review-note-input").send_keys("Same face, same jacket as the 14:02 still")
    click(browser, browser.find_element(By.CSS_SELECTOR, "button.action-confirm"))
    wait_for(lambda: "by bob" in text_of(browser, "review-state"), timeout_s=30, what="bob's confirmation")
    assert "Confirmed" in text_of(browser, "review-state")
    wait_for(lambda: "Confirmed" in text_of(second_browser, "review-state"), timeout_s=30,
             what="carol to see bob's decision live")
    assert "by bob" in second_browser.find_element(By.ID, "review-state").text
    assert second_browser.execute_script("return window.__sameReviewPage === true")
    assert text_of(second_browser, "review-note") == "Same face, same jacket as the 14:02 still"
    shoot(second_browser, "alert-reviewed-live")
    top.refresh_from_db()
    assert (top.status, top.reviewed_by.username, top.review_note) == (
        "confirmed", "bob", "Same face, same jacket as the 14:02 still")


def test_it_tells_an_admin_that_a_photo_has_no_face(server: str, browser: Any, alice: Any, live_worker: Any):
    from selenium.webdriver.common.by import By

    from suspects.models import Suspect
    from tests.ui_factory import make_suspect

    with_password(alice)
    make_suspect(alice)
    make_suspect(alice, name="Franz Kafka", external_id="W-0002", status="missing", photo=False)
    sign_in(browser, server, alice)
    browser.get(f"{server}/suspects/")
    wait_for(lambda: image_loaded(browser, "img.thumb"), timeout_s=30, what="the registry thumbnails")
    shoot(browser, "suspect-registry")

    browser.get(f"{server}/suspects/new/")
    browser.find_element(By.ID, "id_name").send_keys("Ann Example")
    browser.find_element(By.ID, "id_external_id").send_keys("W-0003")
    no_face = Path(browser.capabilities.get("chrome", {}).get("userDataDir", "/tmp")) / "coffee.jpg"
    from tests.ui_factory import no_face_photo

    no_face.write_bytes(no_face_photo().read())
    browser.find_element(By.ID, "id_photo").send_keys(str(no_face))
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button.primary"))
    error = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".field-error"), timeout_s=30,
                     what="the face check error")
    assert "No face found in this photo" in error[0].text
    assert not Suspect.objects.filter(external_id="W-0003").exists()
    shoot(browser, "suspect-no-face")

    # A photo with two faces: the admin is asked which one, and the choice is kept for enrolment.
    from tests.ui_factory import two_face_photo

    eileen = Suspect.objects.get(external_id="W-0001")
    pair = no_face.with_name("pair.jpg")
    pair.write_bytes(two_face_photo().read())
    browser.get(f"{server}/suspects/{eileen.pk}/")
    browser.find_element(By.ID, "id_photo").send_keys(str(pair))
    click(browser, browser.find_element(By.CSS_SELECTOR, "#photo-form button[type=submit]"))
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".face-choice")) == 2, timeout_s=30,
             what="the face chooser")
    wait_for(lambda: image_loaded(browser, ".choose-face img"), timeout_s=30, what="the photo to choose in")
    shoot(browser, "suspect-choose-face")
    click(browser, browser.find_elements(By.CSS_SELECTOR, ".face-choice")[0])
    wait_for(lambda: browser.current_url.endswith(f"/suspects/{eileen.pk}/"), timeout_s=30, what="the suspect page")
    assert eileen.photos.exclude(face_box=None).count() >= 1
    shoot(browser, "suspect-page")

    browser.get(f"{server}/audit/")
    shoot(browser, "audit-log")
