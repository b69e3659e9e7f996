"""``report.html`` and ``report.pdf`` (WeasyPrint), written so that memory does not grow with the number of alerts.

Each part of the report (summary, one section per alert, signature page) is rendered to a work file as soon as it is
known. ``report.html`` is their concatenation. WeasyPrint lays out a whole document in memory, so the PDF is made in
volumes of ``VOLUME_ALERTS`` alerts: ``report.pdf`` holds the first (and is the only one for most exports),
``report-2.pdf``, ``report-3.pdf``... the next; each volume repeats the summary and the signature page, so it reads
on its own.

The HTML names images by their path inside the package (``sightings/sighting-7/raw.png``), so it shows them when the
zip is unpacked. WeasyPrint renders it before the zip exists: a fetcher maps those package paths to the files being
packed, and refuses every other URL (no network, no other local file can end up in a report).
"""

from __future__ import annotations

import logging
import math
import mimetypes
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

BASE_URL = "file:///facecase-package/"
VOLUME_ALERTS = 100


def volume_names(alert_count: int) -> list[tuple[str, int, int]]:
    """``(file name, first alert, last alert)`` of each PDF volume, numbering alerts from 1."""
    volumes = max(1, math.ceil(alert_count / VOLUME_ALERTS))
    return [("report.pdf" if i == 0 else f"report-{i + 1}.pdf", i * VOLUME_ALERTS + 1,
             min(alert_count, (i + 1) * VOLUME_ALERTS)) for i in range(volumes)]


class ReportWriter:
    def __init__(self, work: Path, alert_count: int) -> None:
        self.work = work
        self.volumes = volume_names(alert_count)
        self.start = work / "report-start.html"
        self.end = work / "report-end.html"
        self.parts = [work / f"report-alerts-{i + 1}.html" for i in range(len(self.volumes))]

    def write_start(self, html: str) -> None:
        self.start.write_text(html, encoding="utf-8")

    def write_alert(self, number: int, html: str) -> None:
        with open(self.parts[min(len(self.parts), (number - 1) // VOLUME_ALERTS + 1) - 1], "a",
                  encoding="utf-8") as out:
            out.write(html)

    def write_end(self, html: str) -> None:
        self.end.write_text(html, encoding="utf-8")

    def _join(self, target: Path, parts: list[Path]) -> Path:
        with open(target, "wb") as out:
            for part in parts:
                if part.exists():
                    with open(part, "rb") as handle:
                        shutil.copyfileobj(handle, out, 1024 * 1024)
        return target

    def html(self) -> Path:
        return self._join(self.work / "report.html", [self.start, *self.parts, self.end])

    def pdfs(self, images: dict[str, Path]) -> Iterator[tuple[str, Path]]:
        """Render each volume in turn; the caller packs it before the next one is laid out."""
        for (name, _, _), part in zip(self.volumes, self.parts, strict=True):
            html = self._join(self.work / f"{name}.html", [self.start, part, self.end])
            pdf = self.work / name
            render_pdf(html, pdf, images)
            html.unlink()
            yield name, pdf
            pdf.unlink()


def _fetcher(images: dict[str, Path]) -> object:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class PackageFetcher(URLFetcher):
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            name = unquote(url[len(BASE_URL):]) if url.startswith(BASE_URL) else None
            if name is None or name not in images:
                raise ValueError(f"the report may only show files of its own package, not {url}")
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, open(images[name], "rb"), {"Content-Type": content_type}, 200)

    return PackageFetcher()


class ReportUnavailable(RuntimeError):
    """WeasyPrint or the Pango library it needs is missing on this machine."""


def render_pdf(html_path: Path, pdf_path: Path, images: dict[str, Path]) -> None:
    for chatty in ("fontTools", "weasyprint.progress"):  # INFO lines on every export (and at import)
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango is not installed (cffi cannot load it)
        raise ReportUnavailable(f"report.pdf cannot be rendered here ({exc}); install WeasyPrint and Pango "
                                "(`make evidence-tools`)") from exc

    HTML(filename=str(html_path), base_url=BASE_URL, url_fetcher=_fetcher(images)).write_pdf(str(pdf_path))
