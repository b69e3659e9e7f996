"""Server time per page with 10,000 alerts and 1,000 suspects in the database (goal: < 300 ms).

Builds a fresh database (SQLite in a temporary folder, or ``--database-url``), runs the migrations and
``manage.py seed_volume``, then requests each page through Django's full request/response stack (middleware,
session, templates) as the role that uses it, and times it in-process, so network and browser time are not counted.
Each page is requested ``--repeat`` times after two warm-up requests; the table gives the median and the worst, and
the number of SQL queries per request (which must not grow with the volume).

    .venv/bin/python benchmarks/ui.py                       # SQLite
    .venv/bin/python benchmarks/ui.py --database-url postgres://postgres@127.0.0.1:5432/facecase_bench

Writes the table to docs/benchmarks/ui.md (with ``--write``) and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks/ui.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="facecase-bench-ui-"))
    os.environ["FACECASE_VAR_DIR"] = str(workdir)
    os.environ["PRIVATE_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facecase.settings")
    sys.path.insert(0, str(REPO))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # No setup_test_environment(): it instruments every template render; "testserver" is an allowed host already.
    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)  # a fresh start on a reused database
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    call_command("seed_volume")
    seed_s = time.perf_counter() - t0

    from django.contrib.auth import get_user_model

    from facecase.models import AuditEvent, Case
    from footage.models import Alert, Footage
    from suspects.models import Suspect

    users = get_user_model()
    clients = {}
    for role in ("operator", "analyst", "admin"):
        client = Client()
        client.force_login(users.objects.get(username=f"seed-{role}"))
        clients[role] = client
    alert = Alert.objects.filter(status="new").order_by("-created_at").first()
    case = Case.objects.order_by("pk").first()
    footage = Footage.objects.filter(case=case).first()
    suspect = Suspect.objects.order_by("pk")[500]
    pages = [
        ("operator", "alert queue (new)", "/alerts/"),
        ("operator", "alert queue, all, page 100", "/alerts/?status=&page=100"),
        ("operator", "alert queue by suspect", f"/alerts/?status=&suspect={suspect.pk}"),
        ("operator", "alert queue by camera + dates", "/alerts/?status=&camera=Camera+3&date_from=2000-01-01"),
        ("operator", "alert review", f"/alerts/{alert.pk}/"),
        ("operator", "alert row (live push)", f"/alerts/{alert.pk}/row/"),
        ("operator", "home", "/"),
        ("analyst", "cases", "/cases/"),
        ("analyst", "case page", f"/cases/{case.pk}/"),
        ("analyst", "footage page", f"/footage/{footage.pk}/"),
        ("analyst", "sightings by suspect", f"/sightings/?suspect={suspect.pk}"),
        ("analyst", "sightings, suspect search", "/sightings/?q=Seed+Person+05"),
        ("admin", "suspect registry", "/suspects/"),
        ("admin", "suspect registry, page 15", "/suspects/?page=15"),
        ("admin", "suspect registry search", "/suspects/?q=0042"),
        ("admin", "suspect page", f"/suspects/{suspect.pk}/"),
        ("admin", "audit log", "/audit/"),
        ("admin", "audit log by verb", "/audit/?verb=review&page=50"),
    ]
    rows = []
    for role, name, url in pages:
        client = clients[role]
        for _ in range(2):
            assert client.get(url).status_code == 200, (role, url)
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (role, url, response.status_code)
        p90 = statistics.quantiles(times, n=10)[-1]
        rows.append((role, name, url, statistics.median(times), p90, max(times), len(queries)))

    volume = (f"{Alert.objects.count():,} alerts, {Suspect.objects.count():,} suspects, "
              f"{Footage.objects.count():,} footage, {AuditEvent.objects.count():,} audit events")
    lines = [
        "# UI page speed",
        "",
        f"Server time per page, measured by `benchmarks/ui.py` in-process through the full Django stack "
        f"(goal: < {GOAL_MS:.0f} ms). Database: {connection.vendor} with {volume} (seeded by "
        f"`manage.py seed_volume` in {seed_s:.1f} s). {args.repeat} timed requests per page after 2 warm-up ones; "
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, Python "
        f"{platform.python_version()}. Load average at the end: {os.getloadavg()[0]:.1f} (the worst column is "
        f"mostly other jobs taking the CPU; the median is the page's own cost).",
        "",
        "| role | page | median ms | p90 ms | worst ms | SQL queries | median under goal |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for role, name, url, median, p90, worst, queries in rows:
        lines.append(f"| {role} | {name} (`{url}`) | {median:.1f} | {p90:.1f} | {worst:.1f} | {queries} | "
                     f"{'yes' if median < GOAL_MS else 'NO'} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.write:
        out = REPO / "docs" / "benchmarks" / "ui.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        previous = out.read_text() if out.exists() else ""
        section = f"<!-- {connection.vendor} -->\n{table}"
        # One section per database vendor, so a SQLite run and a PostgreSQL run can sit side by side.
        kept = [part for part in previous.split("<!-- ") if part and not part.startswith(connection.vendor)]
        out.write_text("".join("<!-- " + part for part in kept) + section)
        print(f"wrote {out}")
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
