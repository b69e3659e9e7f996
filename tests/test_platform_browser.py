"""In a real browser against the real stack (daphne + qcluster + Redis): the login page renders and logs in,
an uploaded video is processed to done, and progress pushed by the server changes the page without a reload."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HAMILTON_CLIP, REPO_ROOT, shared_file, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("browser tests need chromium and chromedriver (make test installs them with apt when run as root)",
                allow_module_level=True)

PASSWORD = "charlie-browser-pw-4711"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(worker_env: dict[str, str], qcluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """daphne serving the ASGI app (HTTP + WebSocket) on the test database, next to the session's worker."""
    port = free_port()
    env = {**worker_env, "PRIVATE_MEDIA_ROOT": str(qcluster.media_root)}
    log = open(tmp_path_factory.mktemp("daphne") / "daphne.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "facecase.asgi:application"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/login/", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(answers, timeout_s=120, what="daphne to serve the login page", worker=process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def charlie_with_password(charlie: Any) -> Any:
    from django.contrib.auth.hashers import make_password

    # The server process hashes with the production hasher list, so store a hash it knows.
    charlie.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    charlie.save(update_fields=["password"])
    return charlie


def log_in(browser: Any, server: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/login/")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def test_it_renders_the_login_page_and_logs_in(server: str, browser: Any, charlie_with_password: Any, tmp_path: Path):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/login/")
    assert "Log in" in browser.title
    assert browser.find_element(By.ID, "id_username").is_displayed()
    stylesheet = browser.execute_script(
        "return getComputedStyle(document.querySelector('.topbar')).backgroundColor"
    )
    assert stylesheet not in ("", "rgba(0, 0, 0, 0)"), "the stylesheet did not load"
    browser.save_screenshot(str(tmp_path / "login.png"))

    log_in(browser, server, "charlie", "wrong password")
    wait_for(lambda: "did not match" in browser.page_source, timeout_s=30, what="the login error")
    log_in(browser, server, "charlie", PASSWORD)
    wait_for(lambda: browser.current_url.rstrip("/") == server, timeout_s=30, what="the home page after login")
    assert "charlie" in browser.find_element(By.CSS_SELECTOR, ".who").text


def test_it_processes_an_upload_to_done_and_pushes_progress_live(
    server: str, browser: Any, charlie_with_password: Any, charlies_case: Any
):
    from selenium.webdriver.common.by import By

    from facecase.events import case_group, publish
    from footage.models import Footage

    log_in(browser, server, "charlie", PASSWORD)
    wait_for(lambda: browser.current_url.rstrip("/") == server, timeout_s=30, what="login")
    browser.get(f"{server}/cases/{charlies_case.pk}/")
    browser.find_element(By.CSS_SELECTOR, "input[type=file][name=file]").send_keys(str(shared_file(HAMILTON_CLIP)))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit], #upload-form input[type=submit]").click()

    footage = wait_for(lambda: Footage.objects.filter(case=charlies_case).first(), timeout_s=60, what="the upload")
    row = f'[data-footage-id="{footage.pk}"]'

    def status_in_page() -> str:
        cells = browser.find_elements(By.CSS_SELECTOR, f"{row} .footage-status")
        return cells[0].get_attribute("textContent").strip().lower() if cells else ""

    wait_for(lambda: status_in_page() == "done", timeout_s=240, what="the page to show the footage done")
    wait_for(lambda: browser.find_element(By.ID, "live-status").get_attribute("textContent").strip() == "live",
             timeout_s=30, what="the socket")

    # A push from the server side changes the page with no reload.
    publish(case_group(charlies_case.pk), "footage.progress", {"footage_id": footage.pk, "progress": 37})
    wait_for(
        lambda: browser.execute_script(f"return document.querySelector('{row} .footage-progress').value") == 37,
        timeout_s=30, what="the pushed progress to reach the page",
    )
    footage.refresh_from_db()
    assert (footage.status, footage.frame_count, footage.width, footage.height) == ("done", 275, 640, 360)
