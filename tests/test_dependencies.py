"""Every pinned package earns its place: the product, its tests, benchmarks or research code import it, or the
settings name it (a database driver, an installed app, a channel layer). A package nobody uses is removed."""

from __future__ import annotations

import re
from importlib.metadata import packages_distributions
from pathlib import Path

from conftest import REPO_ROOT

# Pinned for a reason other than an import, each said here: daphne needs a Twisted that supports Python 3.11's
# asyncio reactor (the pin keeps the resolver off a version that broke websockets).
NOT_IMPORTED = {
    "twisted": "daphne's server runtime, pinned to a version known to work with it",
    "psycopg": "Django's PostgreSQL backend loads it when DATABASE_URL is postgres://",
    "import-linter": "run as `lint-imports` by `make test` (the contracts are in pyproject.toml)",
    "mypy": "run by `make test` on enhancement/ (settings in pyproject.toml)",
    "pytest-xdist": "pytest's plugin behind `make test`'s `-n 2` (two test sessions at once)",
}
MODULE_ALIASES = {"dlib-bin": {"dlib"}}  # the wheel's module is dlib


def pinned(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.append(re.split(r"[=<>\[; ]", line)[0].lower().replace("_", "-"))
    return names


def sources() -> str:
    texts = []
    for folder in ("facecase", "footage", "suspects", "evidence", "facesearch", "cameras", "facecase_verify",
                   "enhancement", "research", "benchmarks", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if path.name != Path(__file__).name:
                texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def test_it_pins_only_packages_that_are_used():
    text = sources()
    modules_of: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    unused = []
    for name in pinned(REPO_ROOT / "requirements.txt") + pinned(REPO_ROOT / "requirements-dev.txt"):
        if name in NOT_IMPORTED:
            continue
        modules = modules_of.get(name, set()) | MODULE_ALIASES.get(name, set()) or {name.replace("-", "_")}
        used = any(re.search(rf"(^|\s)(import|from)\s+{re.escape(m)}(\.|\s|$)", text, re.M)
                   or re.search(rf"[\"']{re.escape(m)}[\".']", text) for m in modules)
        if not used and name not in {"ruff", "pytest", "pytest-django", "pytest-asyncio"}:  # tools run by name
            unused.append(f"{name} (modules {sorted(modules)})")
    assert not unused, f"pinned but never used: {unused}"
