"""Fetch or read single pages for ``newswatch extract``.

The extraction itself is the crawler's (:func:`crawler.extract.extract_page`),
so what this prints is exactly what a crawl would store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from newswatch import __version__

LOGGER = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024


def fetch_page(url: str, timeout: float) -> tuple[bytes, str]:
    """Download ``url``; return its body and final URL. Raises ``ValueError``."""
    headers = {"User-Agent": f"newswatch/{__version__} (page inspection)"}
    try:
        with httpx.Client(follow_redirects=True, timeout=timeout, headers=headers) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise ValueError(f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_BYTES:
                        raise ValueError(f"page larger than {MAX_BYTES} bytes")
                return bytes(body), str(response.url)
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot fetch: {exc}") from exc


def read_input(item: str, timeout: float) -> tuple[bytes, str | None]:
    """Return the HTML bytes of a URL or a file, and the page URL if known."""
    if item.startswith(("http://", "https://")):
        return fetch_page(item, timeout)
    path = Path(item)
    if not path.is_file():
        raise ValueError("no such file (and not an http(s) URL)")
    return path.read_bytes(), None


def extract_inputs(inputs: Iterable[str], timeout: float = 30.0) -> Iterator[dict[str, Any]]:
    """Yield, for each input, the record newswatch would store, or an error."""
    from crawler.extract import extract_page

    for item in inputs:
        try:
            html, url = read_input(item, timeout)
        except (ValueError, OSError) as exc:
            yield {"input": item, "error": str(exc)}
            continue
        record = extract_page(html, url)
        if record is None:
            yield {"input": item, "error": "no article text could be extracted (see log for the reason)"}
            continue
        yield {
            "input": item,
            **{key: record.get(key) for key in
               ("url", "title", "author", "published", "published_from", "language", "text")},
        }
