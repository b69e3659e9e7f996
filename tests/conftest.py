"""Shared fixtures: the people (alice admin, bob operator, charlie analyst, dave a second analyst), an
isolated Redis and private media folder per test session, and a real django-q2 worker process on demand.

Isolation matters because several test sessions may run at once on one machine: each session gets its own
queue name, channel prefix and media folder, and (with SQLite) its own database file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FACECASE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
HAMILTON_CLIP = SHARED_DATA / "face_recognition_examples" / "short_hamilton_clip.mp4"
SESSION_TAG = f"t{os.getpid()}{uuid.uuid4().hex[:6]}"

# Real password hashing costs ~0.3 s a user on a busy 2-core machine; tests only need logins to work.
# PBKDF2 stays available for the browser tests, whose server process hashes with the real settings.
settings.PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (../shared/data not present on this machine)")
    return path


# --- session isolation -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test database of our own: a file for SQLite (so a worker process can open it), a suffixed name
    for PostgreSQL (so two sessions never drop each other's database)."""
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["TEST"]["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    else:
        db["TEST"]["NAME"] = f"test_{db['NAME']}_{SESSION_TAG}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``REDIS_URL`` when given (CI: a real Redis), else an embedded redis-server just for this session."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    from facecase.embedded_redis import start_embedded_redis

    # Unix socket paths are limited to ~100 bytes, so keep this one short.
    directory = Path(f"/tmp/fc-redis-{SESSION_TAG}")
    process, url = start_embedded_redis(directory)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        (directory / "redis.sock").unlink(missing_ok=True)
        directory.rmdir() if directory.exists() and not any(directory.iterdir()) else None


@pytest.fixture(scope="session")
def queue_env(redis_url: str) -> dict[str, str]:
    """Point this process's queue and channel layer at the session's Redis under names of its own, and return
    the environment a worker process needs to see the same."""
    from channels.layers import channel_layers
    from django_q.conf import Conf

    name = f"facecase-{SESSION_TAG}"
    settings.REDIS_URL = redis_url
    layer = settings.CHANNEL_LAYERS["default"]
    host = {**layer["CONFIG"]["hosts"][0], "address": redis_url}
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [host], "prefix": name}}}
    channel_layers.backends = {}
    # django-q2 reads Q_CLUSTER once at import; these are the attributes enqueueing uses.
    Conf.REDIS = redis_url
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    return {"REDIS_URL": redis_url, "FACECASE_Q_NAME": name, "FACECASE_CHANNEL_PREFIX": name}


@pytest.fixture(scope="session", autouse=True)
def isolated_queue(queue_env: dict[str, str]) -> None:
    """Every test enqueues (registry rebuilds, footage jobs) into this session's own queue, never the product's."""


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test gets its own channel layer: its Redis connections belong to the event loop that made them, and
    pytest-asyncio gives every async test a new loop (a web process has one loop for its whole life)."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def private_media(tmp_path: Path, settings: Any) -> Path:
    """Every test writes uploads into a folder of its own, so leftovers are easy to see."""
    root = tmp_path / "private-media"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    return root


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- people -------------------------------------------------------------------------------------------------


def make_user(username: str, *roles: str, **extra: Any) -> Any:
    from django.contrib.auth import get_user_model

    from facecase.roles import assign_role

    user = get_user_model().objects.create_user(username=username, password=f"{username}-pw-4711", **extra)
    for role in roles:
        assign_role(user, role)
    return user


@pytest.fixture
def alice(db: None) -> Any:
    """The admin: manages the suspect registry and users; may use the Django admin."""
    return make_user("alice", "admin", is_staff=True)


@pytest.fixture
def bob(db: None) -> Any:
    """The operator: sees and reviews alerts."""
    return make_user("bob", "operator")


@pytest.fixture
def charlie(db: None) -> Any:
    """The analyst who owns the case in most stories."""
    return make_user("charlie", "analyst")


@pytest.fixture
def dave(db: None) -> Any:
    """Another analyst, with cases of his own, who must not see charlie's."""
    return make_user("dave", "analyst")


@pytest.fixture
def mallory(db: None) -> Any:
    """A logged-in account with no role at all."""
    return make_user("mallory")


@pytest.fixture
def charlies_case(charlie: Any) -> Any:
    from facecase.services import case_create

    return case_create(actor=charlie, reference="CASE-1", title="Platform robbery", description="CCTV from platform 2")


# --- a real worker ------------------------------------------------------------------------------------------


def worker_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def worker_env(django_db_setup: None, django_db_blocker: Any, queue_env: dict[str, str]) -> dict[str, str]:
    env = os.environ.copy()
    env.update(queue_env)
    with django_db_blocker.unblock():
        env["DATABASE_URL"] = worker_database_url()
    env["FACECASE_Q_WORKERS"] = "1"
    env.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    env.setdefault("TF_NUM_INTEROP_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONFAULTHANDLER"] = "1"  # a stuck worker sent SIGABRT writes every thread's stack to its log
    return env


@pytest.fixture(scope="session")
def qcluster(worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    """``manage.py qcluster`` as a separate process on the test database, the session's Redis and a media
    folder shared with the tests that use it (see ``live_worker``)."""
    log_path = tmp_path_factory.mktemp("worker") / "qcluster.log"
    media = tmp_path_factory.mktemp("worker-media")
    worker_env = {**worker_env, "PRIVATE_MEDIA_ROOT": str(media)}
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"], cwd=REPO_ROOT, env=worker_env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    process.log_path = log_path  # type: ignore[attr-defined]
    process.media_root = media  # type: ignore[attr-defined]
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
    try:
        os.killpg(process.pid, 9)  # any worker child that outlived the cluster
    except ProcessLookupError:
        pass
    log.close()


@pytest.fixture
def live_worker(qcluster: subprocess.Popen, settings: Any) -> subprocess.Popen:
    """The running worker, with this test's private media in the folder the worker reads."""
    for leftover in files_under(qcluster.media_root):
        leftover.unlink()
    settings.PRIVATE_MEDIA_ROOT = qcluster.media_root
    return qcluster


try:
    from selenium.common.exceptions import StaleElementReferenceException

    _TRANSIENT_DOM_ERRORS: tuple[type[BaseException], ...] = (StaleElementReferenceException,)
except ImportError:  # selenium is a dev dependency; without it there are no browser tests to wait for
    _TRANSIENT_DOM_ERRORS = ()


def wait_for(predicate: Any, timeout_s: float, what: str, worker: subprocess.Popen | None = None) -> Any:
    """Poll until ``predicate()`` is truthy. The limit only bounds a hang; it asserts nothing about speed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except _TRANSIENT_DOM_ERRORS:
            value = None  # the live page replaced the element between lookup and read: look again
        if value:
            return value
        if worker is not None and worker.poll() is not None:
            break
        time.sleep(0.2)
    detail = ""
    if worker is not None and worker.poll() is not None:
        detail += f" (the worker exited with code {worker.returncode}: -9 is SIGKILL, e.g. the kernel's OOM killer)"
    if worker is not None and hasattr(worker, "log_path"):
        detail = "\nworker log tail:\n" + Path(worker.log_path).read_text(errors="replace")[-3000:]
    raise AssertionError(f"gave up waiting for {what}{detail}")


def registry_settled(suspects: int, worker: subprocess.Popen) -> Any:
    """The version the worker's automatic rebuild produced once every queued rebuild has run: registry changes
    schedule rebuilds by themselves, so stories wait for them as an admin would rather than build by hand."""
    from suspects.models import RegistryRebuild, RegistryVersion

    def settled() -> Any:
        failed = RegistryRebuild.objects.filter(status=RegistryRebuild.Status.FAILED).first()
        if failed is not None:
            raise AssertionError(f"registry rebuild {failed.pk} failed: {failed.error}")
        if RegistryRebuild.objects.exclude(status=RegistryRebuild.Status.DONE).exists():
            return None
        latest = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
        return latest if latest is not None and latest.suspect_count == suspects else None

    return wait_for(settled, timeout_s=600, what=f"the automatic registry rebuild ({suspects} suspects)", worker=worker)


@pytest.fixture(scope="module")
def lfw_people() -> Any:
    """Six evaluation identities with >= 4 images: three enrolment photos and one probe each, plus four strangers."""
    import cv2

    from enhancement.datasets import lfw_images, split_identities
    from enhancement.embed import embed_face
    from enhancement.lfw import LFW_FALLBACK_BOX, lfw_face_box
    from enhancement.match import Gallery

    people = [ident for ident in split_identities("eval") if len(lfw_images(ident)) >= 4][:10]
    vectors = {}
    for i, ident in enumerate(people):
        vectors[ident] = []
        for path in lfw_images(ident)[:4 if i < 6 else 1]:
            image = cv2.imread(str(path))
            vectors[ident].append(embed_face(image, lfw_face_box(image) or LFW_FALLBACK_BOX))
    enrolled, strangers = people[:6], people[6:]
    gallery = Gallery([v for p in enrolled for v in vectors[p][:3]], [p for p in enrolled for _ in range(3)])
    return vectors, enrolled, strangers, gallery
