"""Evidence export of one case with many alerts: wall time and memory (goal: memory bounded, not growing with alerts).

Builds a fresh database (SQLite in a temporary folder), seeds one case with ``--alerts`` alerts (``manage.py
seed_volume``: every sighting's frame and crops are the same small JPEG, each copied into the package under its own
name; one suspect photo per suspect), then exports the case twice in this process: its confirmed alerts (a third of
them) and all of them, and verifies each package with ``facecase_verify`` (without replay: the seeded step records
are placeholders). Memory is the process's resident set sampled every 10 ms by a thread (psutil): the table gives
the peak during each export and its rise over the resident set just before it.

    .venv/bin/python -m benchmarks.export --alerts 1000 --write

Writes the table to docs/benchmarks/export.md (with ``--write``) and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


class PeakRss:
    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks/export.md")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="facecase-bench-export-"))
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the database and the packages (tens of MiB)


def run(args: argparse.Namespace, workdir: Path) -> None:
    os.environ["FACECASE_VAR_DIR"] = str(workdir)
    os.environ["PRIVATE_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facecase.settings")
    sys.path.insert(0, str(REPO))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    call_command("seed_volume", alerts=args.alerts, suspects=50, cases=1, footage_per_case=1)
    seed_s = time.perf_counter() - t0

    from django.contrib.auth import get_user_model

    from evidence.build import evidence_export_case
    from evidence.report import VOLUME_ALERTS
    from facecase.models import Case
    from facecase_verify import verify_package
    from footage.models import Alert

    case = Case.objects.get(reference="SEED-000")
    analyst = get_user_model().objects.get(username="seed-analyst")
    rows = []
    for scope in ("confirmed", "all"):
        count = Alert.objects.filter(footage__case=case, **({"status": "confirmed"} if scope == "confirmed" else {}))
        with PeakRss() as memory:
            t0, c0 = time.perf_counter(), time.process_time()
            if os.environ.get("EXPORT_PROFILE"):
                import cProfile
                import pstats

                profile = cProfile.Profile()
                result = profile.runcall(evidence_export_case, actor=analyst, case=case, alerts=scope, via="bench")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            else:
                result = evidence_export_case(actor=analyst, case=case, alerts=scope, via="benchmark")
            export_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        verified = verify_package(str(result.path), replay=False)
        verify_s = time.perf_counter() - t0
        assert verified.ok, [f.line() for f in verified.failures]
        rows.append((scope, count.count(), result.counts["files"], result.size / MiB, export_s, cpu_s,
                     memory.start / MiB, memory.peak / MiB, (memory.peak - memory.start) / MiB, verify_s))
        print(f"{scope}: {rows[-1]}", flush=True)

    header = ("| alerts exported | files | package MiB | export wall s | export CPU s | RSS before MiB | peak RSS MiB "
              "| rise MiB | verify s |\n|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {n} ({scope}) | {files} | {size:.1f} | {secs:.1f} | {cpu:.1f} | {before:.0f} | {peak:.0f} | "
             f"{rise:.0f} | {vsecs:.1f} |" for scope, n, files, size, secs, cpu, before, peak, rise, vsecs in rows]
    table = "\n".join([header, *lines])
    print(table)
    if args.write:
        load = os.getloadavg()
        scope, n, *_, cpu, _before, _peak, _rise, _vsecs = rows[-1]
        per_alert = f"about {cpu / max(1, n):.2f} s of CPU per alert in the export of {n} here"
        short = "" if args.alerts >= 1000 else f"""
Why not 1,000 alerts: the issue asks for a case of 1,000 alerts, but on a shared 2-core machine that run (1,000 +
333 alerts exported, about 4 minutes of CPU) takes 15-20 minutes of wall time under load, so this page was made with
{args.alerts}. `--alerts 1000` runs it on a quieter machine.
"""
        page = f"""# Evidence export benchmark

`python -m benchmarks.export --alerts {args.alerts} --write` ({time.strftime('%Y-%m-%d')}, Python
{platform.python_version()}, {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the
end: the machine was shared with other jobs). One case seeded with {args.alerts} alerts (`seed_volume`, {seed_s:.0f} s),
exported in-process by `evidence.build.evidence_export_case` (what the queue worker runs for an export asked for on a
page or over the API, and what `manage.py export_case` runs): first its confirmed alerts, then all of them, each
package verified afterwards (`facecase_verify`, no replay).

{table}

Memory is the resident set of the whole process (Django, NumPy, OpenCV and WeasyPrint loaded), sampled every 10 ms.
The peak is set by one PDF volume (WeasyPrint lays out a whole document in memory; the report is cut into volumes of
{VOLUME_ALERTS} alerts): a second export of three times as many alerts in the same process adds little to it. Files
are streamed and rows iterated, so the rest does not grow with the case. Nearly all the time is WeasyPrint's layout
(92 % in a profile of a 30-alert export; `EXPORT_PROFILE=1` prints one):
{per_alert}.
{short}"""
        (REPO / "docs" / "benchmarks" / "export.md").write_text(page)


if __name__ == "__main__":
    main()
