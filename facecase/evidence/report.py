"""``report.pdf`` from ``report.html`` with WeasyPrint.

The HTML names images by their path inside the package (``sightings/sighting-7/raw.png``), so it shows them when the
zip is unpacked. WeasyPrint renders it before the zip exists: a fetcher maps those package paths to the files being
packed, and refuses every other URL (no network, no other local file can end up in a report).
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote

BASE_URL = "file:///facecase-package/"


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


def render_pdf(html_path: Path, pdf_path: Path, images: dict[str, Path]) -> None:
    from weasyprint import HTML

    for chatty in ("fontTools", "weasyprint.progress"):  # INFO lines on every export
        logging.getLogger(chatty).setLevel(logging.WARNING)
    HTML(filename=str(html_path), base_url=BASE_URL, url_fetcher=_fetcher(images)).write_pdf(str(pdf_path))
