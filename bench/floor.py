"""The floor: trafilatura alone over the bench pages, one process pinned to one core.

    python bench/floor.py [--pages N] [--passes 1]   # prints one JSON object

Each page is decoded first (untimed, with the crawler's own
``crawler.extract.decode_html``), then ``trafilatura.bare_extraction`` runs on
it, timed two ways, one pass after the other:

- ``pages_per_s`` (the floor the crawl is judged on): exactly the options the
  crawler passes (``TRAFILATURA_OPTIONS``: ``fast=True``, metadata, no
  comments; the page URL and the same date-extraction parameters; see
  ``crawler/extract.py``): the same work as the crawler's.
- ``defaults_pages_per_s``: trafilatura's own defaults (``bare_extraction(html,
  url=url)``: the fallback comparison on, comments on, no metadata), which is
  what "trafilatura alone" means to someone who has not read newswatch. On
  the bench pages it was 5-15 % faster than the crawler's options.

A warm-up pass over the first pages loads trafilatura's lazy state; the
timed passes follow. The process pins itself to one CPU
(``os.sched_setaffinity``) so the figures are one core's.

``python bench/run.py`` starts this as a subprocess; ``measure()`` is the
in-process function.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from newssite import load_pages  # noqa: E402

WARM_UP_PAGES = 10


def extraction_call(options: str = "newswatch"):
    """Return ``extract(html_text, url)``: the crawler's trafilatura call, or trafilatura's defaults."""
    from trafilatura import bare_extraction
    from trafilatura.settings import set_date_params

    from crawler.extract import DATE_OUTPUT_FORMAT, TRAFILATURA_OPTIONS

    if options == "defaults":
        def extract_defaults(text: str, url: str):  # noqa: ANN202
            return bare_extraction(text, url=url)

        return extract_defaults
    date_params = {**set_date_params(True), "outputformat": DATE_OUTPUT_FORMAT}

    def extract(text: str, url: str):  # noqa: ANN202
        return bare_extraction(text, url=url, date_extraction_params=date_params, **TRAFILATURA_OPTIONS)

    return extract


def _timed(extract, docs: list[tuple[str, str]], passes: int) -> tuple[float, int, int]:
    """(seconds, pages with text, pages without) of ``passes`` passes over ``docs``."""
    for text, url in docs[:WARM_UP_PAGES]:
        extract(text, url)
    extracted = failed = 0
    start = time.perf_counter()
    for _ in range(passes):
        for text, url in docs:
            try:
                document = extract(text, url)
            except Exception:  # noqa: BLE001 - counted, as the crawler records it
                document = None
            if document is not None and (getattr(document, "text", None) or "").strip():
                extracted += 1
            else:
                failed += 1
    return time.perf_counter() - start, extracted // passes, failed // passes


def measure(pages: int | None = None, passes: int = 1, pin: bool = True, defaults: bool = True) -> dict:
    """Time trafilatura over the pages; return pages/s (every pass counts), with newswatch's options
    and (``defaults``) with trafilatura's defaults."""
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import logging

    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "justext"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from crawler.extract import decode_html

    docs = [(decode_html(body, "text/html"), f"http://127.0.0.1/articles/{page_id}.html")
            for page_id, body, _ in load_pages(pages)]
    count = len(docs) * passes
    seconds, extracted, failed = _timed(extraction_call("newswatch"), docs, passes)
    result = {
        "pages": count,
        "seconds": round(seconds, 3),
        "pages_per_s": round(count / seconds, 2),
        "with_text": extracted,
        "without_text": failed,
        "options": "newswatch (crawler.extract.TRAFILATURA_OPTIONS)",
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    if defaults:
        seconds, extracted, _ = _timed(extraction_call("defaults"), docs, passes)
        result.update(defaults_seconds=round(seconds, 3), defaults_pages_per_s=round(count / seconds, 2),
                      defaults_with_text=extracted)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=None, help="only the first N pages (default all)")
    parser.add_argument("--passes", type=int, default=1, help="timed passes over the pages (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--no-defaults", action="store_true", help="skip the pass with trafilatura's defaults")
    args = parser.parse_args()
    print(json.dumps(measure(args.pages, args.passes, pin=not args.no_pin, defaults=not args.no_defaults)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
