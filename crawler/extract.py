"""Turn one downloaded page into an article: decode, extract with trafilatura, date, detect.

Two entry points share the same code:

- :func:`extract_page` for ``newswatch extract`` and other callers: returns the
  article as a dict, or None (the reason is logged).
- :func:`extract_worker`, run in the crawler's process pool: returns
  ``{"ok": True, "article": {...}, "detection": {...} | None}`` or
  ``{"ok": False, "reason": "..."}`` so that every failed page is recorded
  with a reason a person understands.

This module imports neither Scrapy nor Twisted so that pool workers start
light. After extraction the worker runs the detector (``detector.Detector``),
one instance cached per process; when the detector package is not available
detection is skipped and that is logged once.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import datetime
from typing import Any

from trafilatura import bare_extraction
from trafilatura.settings import set_date_params
from trafilatura.utils import detect_encoding
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

from crawler.dates import PubDate, choose_published, dates_disagree, parse_date
from crawler.settings import MIN_TEXT_CHARS
from crawler.urls import LinkRefused, canonicalize_url
from storage.db import hash_text

LOGGER = logging.getLogger(__name__)

#: trafilatura options used for every page (and for the benchmark comparison).
#: ``fast=True`` skips the readability/justext fallback comparison: about a third
#: less CPU per page, and on the 181 AEB pages the AEB F1 is 0.962 with it
#: against 0.960 without (tests/crawler measure it through the whole crawl).
TRAFILATURA_OPTIONS: dict[str, Any] = {"include_comments": False, "with_metadata": True, "fast": True}
DATE_OUTPUT_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
HTML_LANG_RE = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.IGNORECASE)
MARKUP_RE = re.compile(r"<\s*(?:!doctype|html|head|body|meta|title|div|p|article|script)\b", re.IGNORECASE)
LATIN_DECLARATIONS = {"iso-8859-1", "latin-1", "latin1", "ascii", "us-ascii", "cp1252", "windows-1252"}

_detector: Any = None
_detector_state = "unloaded"  # unloaded | ready | missing
_detection_errors: set[str] = set()


class ExtractionFailed(Exception):
    """The page holds no article; ``str(exc)`` is the reason."""


WIDE_ENCODINGS = ("utf-16", "utf-32")
CONTROL_BYTES = frozenset(range(0, 32)) - {9, 10, 12, 13}
CONTROL_CHARS_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
BINARY_RATIO = 0.05  # more control bytes than this in the head: not text


def _single_byte(encoding: str) -> bool:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        return False
    name = codec.name
    return not (name.startswith(("utf", "gb", "big5", "euc", "shift", "iso2022", "cp93", "cp94", "cp95", "hz", "johab"))
                or name in ("cp932", "cp949", "cp950", "mbcs"))


def _wide_encoding(body: bytes, content_type: str | None) -> str | None:
    """The UTF-16/32 encoding of ``body`` (BOM, declared charset or the NUL pattern of markup), or None."""
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    declared = http_content_type_encoding(content_type) if content_type else None
    if declared and declared.lower().replace("_", "-").startswith(WIDE_ENCODINGS):
        return declared
    if len(body) >= 8:
        # markup in UTF-16 without a BOM: "<\x00h\x00" (LE) or "\x00<\x00h" (BE)
        if body[:1] == b"<" and body[1:2] == b"\x00" and body[3:4] == b"\x00" and body[2:3] != b"\x00":
            return "utf-16-le"
        if body[:1] == b"\x00" and body[1:2] == b"<" and body[2:3] == b"\x00" and body[3:4] != b"\x00":
            return "utf-16-be"
    return None


def decode_html(body: bytes | str, content_type: str | None = None) -> str:
    """Decode page bytes: BOM, then the declared charset (HTTP header, then
    ``<meta charset>``), then UTF-8, then detection; never raises.

    A page that is valid UTF-8 but declares a single-byte charset
    (Latin-1, windows-1256, ...) is read as UTF-8: a common mislabel, and
    valid multi-byte UTF-8 is very unlikely in genuine single-byte text.
    """
    if isinstance(body, str):
        return body
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        try:
            return body[len(bom):].decode(bom_encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    wide = _wide_encoding(body, content_type)
    if wide:
        try:
            return body.decode(wide)
        except (LookupError, UnicodeDecodeError):
            LOGGER.debug("page looks like %s but does not decode as such", wide)
    declared = []
    header = http_content_type_encoding(content_type) if content_type else None
    if header:
        declared.append(header)
    meta = html_body_declared_encoding(body[:8192])
    if meta:
        declared.append(resolve_encoding(meta) or meta)
    for encoding in declared:
        if not body.isascii() and (encoding.lower() in LATIN_DECLARATIONS or _single_byte(encoding)):
            # a common mislabel: UTF-8 pages served as Latin-1 or windows-125x
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            LOGGER.debug("declared encoding %s does not decode the page", encoding)
    for encoding in detect_encoding(body):
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


def check_html(body: bytes | str, content_type: str | None = None) -> None:
    """Raise :class:`ExtractionFailed` when ``body`` is not an HTML page.

    Binary content is told by the share of control bytes in the first
    kilobytes (a few stray NULs in a page are tolerated); UTF-16/32 pages
    are decoded before they are looked at.
    """
    if isinstance(body, bytes) and _wide_encoding(body, content_type):
        try:
            body = decode_html(body, content_type)
        except Exception:  # decode_html never raises; belt and braces
            pass
    head = body[:2048]
    if isinstance(head, bytes):
        if head.lstrip().startswith(b"%PDF"):
            raise ExtractionFailed("a PDF document, not an HTML page")
        controls = sum(1 for byte in head if byte in CONTROL_BYTES)
        head_text = head.decode("latin-1")
    else:
        if head.lstrip().startswith("%PDF"):
            raise ExtractionFailed("a PDF document, not an HTML page")
        controls = len(CONTROL_CHARS_RE.findall(head))
        head_text = head
    if head and controls > BINARY_RATIO * len(head):
        raise ExtractionFailed("binary content, not an HTML page")
    if not head_text.strip():
        raise ExtractionFailed("empty page")
    if not MARKUP_RE.search(body[:65536] if isinstance(body, str) else body[:65536].decode("latin-1")):
        stripped = head_text.lstrip()
        kind = "JSON" if stripped[:1] in "{[" else "plain text"
        raise ExtractionFailed(f"not an HTML page (looks like {kind})")


def _page_language(raw: bytes | str, found: str | None, hint: str | None) -> str | None:
    if found:
        return found.lower()
    head = raw[:16384]
    head_bytes = head.encode("utf-8", "replace") if isinstance(head, str) else head
    match = HTML_LANG_RE.search(head_bytes)
    if match:
        return match.group(1).decode("ascii").lower()
    return hint or None


def _trusted_canonical(candidate: str | None) -> str | None:
    """Return the page's declared canonical URL when it can be trusted.

    A canonical that is not an absolute http(s) URL, or that points at a
    site's home page (a frequent template mistake that would make every
    article look like one), is ignored.
    """
    if not candidate:
        return None
    try:
        canonical = canonicalize_url(candidate)
    except LinkRefused:
        return None
    path = canonical.split("://", 1)[-1].partition("/")[2]
    if not path.strip("/"):
        return None
    return canonical


def extract_document(
    html: bytes | str,
    url: str | None,
    feed_date: object = None,
    sitemap_date: object = None,
    content_type: str | None = None,
    language_hint: str | None = None,
) -> dict[str, Any]:
    """Extract the article in ``html``; raise :class:`ExtractionFailed` with the reason."""
    check_html(html, content_type)
    # NULs and other C0 controls are not text, and lxml refuses them
    text_html = CONTROL_CHARS_RE.sub("", decode_html(html, content_type))
    date_params = {**set_date_params(True), "outputformat": DATE_OUTPUT_FORMAT}
    try:
        document = bare_extraction(
            text_html, url=url, date_extraction_params=date_params, **TRAFILATURA_OPTIONS
        )
    except Exception as exc:  # trafilatura/lxml errors on hostile markup
        raise ExtractionFailed(f"extraction error: {type(exc).__name__}: {exc}") from exc
    if document is None:
        raise ExtractionFailed("no article text found")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    text = (data.get("text") or "").strip()
    if not text:
        raise ExtractionFailed("no article text found")
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionFailed(f"extracted text too short ({len(text)} characters, minimum {MIN_TEXT_CHARS})")
    fetched = None
    if url:
        try:
            fetched = canonicalize_url(url)
        except LinkRefused:
            fetched = None
    canonical = _trusted_canonical(data.get("url"))
    page_date = parse_date(data.get("date"))
    feed = parse_date(feed_date)
    sitemap = parse_date(sitemap_date)
    published, origin = choose_published(page_date, feed, sitemap, url)
    other = feed or sitemap
    return {
        "url": canonical or fetched or url,
        "canonical_url": canonical,
        "title": (data.get("title") or "").strip() or None,
        "author": (data.get("author") or "").strip() or None,
        "published": published.iso() if published else None,
        "published_from": origin,
        "feed_published": other.iso() if other else None,
        "date_disagreement": int(dates_disagree(page_date, other)),
        "language": _page_language(html, data.get("language"), language_hint),
        "text": text,
        "content_hash": hash_text(text),
    }


def extract_page(
    html: bytes | str, url: str | None, feed_date: object = None, sitemap_date: object = None
) -> dict[str, Any] | None:
    """Return the article in ``html`` as a dict, or None when there is none.

    Keys: ``url`` (canonical), ``canonical_url`` (the page's own, when
    trusted), ``title``, ``author``, ``published`` (ISO 8601),
    ``published_from`` (page | feed | sitemap | url), ``feed_published``,
    ``date_disagreement`` (0/1), ``language``, ``text``, ``content_hash``
    (:func:`storage.hash_text` of the text).
    """
    try:
        return extract_document(html, url, feed_date, sitemap_date)
    except ExtractionFailed as exc:
        LOGGER.info("no article extracted from %s: %s", url or "<page>", exc)
        return None


def _load_detector() -> Any:
    global _detector, _detector_state
    if _detector_state == "unloaded":
        try:
            from detector import Detector  # type: ignore[attr-defined]

            _detector = Detector()
            _detector_state = "ready"
        except Exception as exc:  # missing package, missing class or a broken model
            _detector_state = "missing"
            LOGGER.warning("detection skipped: the detector is not available (%s: %s)", type(exc).__name__, exc)
    return _detector


def run_detection(article: dict[str, Any]) -> dict[str, Any] | None:
    """Run the detector on an extracted article; None when it is not available."""
    detector = _load_detector()
    if detector is None:
        return None
    try:
        detection = detector.detect(
            article.get("title") or "", article["text"], date=article.get("published"), language=article.get("language")
        )
        return detection.to_dict() if hasattr(detection, "to_dict") else dict(detection)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if message not in _detection_errors:  # log each distinct problem once per worker
            _detection_errors.add(message)
            LOGGER.warning("detection failed on %s: %s", article.get("url"), message)
        return {"error": message}


def init_worker(log_queue: Any = None, level: int = logging.WARNING) -> None:
    """Process-pool initializer: quiet library logging in extraction workers.

    With ``log_queue`` (a multiprocessing queue), every record of ``level``
    or above logged in the worker (the detector's warnings included) is sent
    to the parent process, which logs it with its own handlers (one JSON line
    in the daemon) instead of Python's bare last-resort line on stderr.
    """
    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "justext"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if log_queue is not None:
        from logging.handlers import QueueHandler

        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.addHandler(QueueHandler(log_queue))
        root.setLevel(level)


WARM_UP_PAGE = (
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Warm-up story | Example News</title>"
    "<meta property=\"og:title\" content=\"Warm-up story\"><meta name=\"author\" content=\"Jane Doe\">"
    "<meta property=\"article:published_time\" content=\"2025-01-02T10:00:00+00:00\">"
    "<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"NewsArticle\","
    "\"headline\":\"Warm-up story\",\"datePublished\":\"2025-01-02T10:00:00Z\"}</script></head>"
    "<body><header><nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/world\">World</a></li></ul></nav></header>"
    "<main><article><h1>Warm-up story</h1><p class=\"byline\">By Jane Doe</p>"
    "<time datetime=\"2025-01-02T10:00:00Z\">2 January 2025</time>"
    + "".join(
        f"<p>Paragraph {n}: officials in Baghdad said on Thursday, 2 January 2025, that the market "
        "reopened after the repairs, and traders returned to their stalls.</p>"
        for n in range(6)
    )
    + "</article><aside><h2>Related</h2><a href=\"/x\">Other story</a></aside></main>"
    "<footer><p>Example News</p></footer></body></html>"
)
#: a plain URL, and one with a port: courlan reads the domain of the first with a regular
#: expression and loads the public-suffix list (about 0.1 s) for the second
WARM_UP_URLS = ("https://www.example.com/news/2025/01/02/warm-up-story",
                "http://192.0.2.1:8080/news/2025/01/02/warm-up-story")


def warm_worker(detect: bool = True) -> bool:
    """Load what a worker needs before the first real page (pool warm-up).

    Runs the worker's whole path (:func:`extract_worker`: decoding,
    trafilatura, htmldate, and the detector when ``detect``) on a small
    article page, once per URL of :data:`WARM_UP_URLS`: each library
    builds its lazy state (the detector its lexicons and automaton,
    courlan the public-suffix list) here rather than on the first real
    page. Returns True; never raises.
    """
    for url in WARM_UP_URLS:
        try:
            extract_worker(WARM_UP_PAGE.encode("utf-8"), url, None, {"content_type": "text/html", "detect": detect})
        except Exception:  # a warm-up is never worth a failure
            LOGGER.debug("warm-up extraction failed", exc_info=True)
    return True


def extract_worker(html: bytes | str, url: str, feed_date: object, hints: dict[str, Any]) -> dict[str, Any]:
    """Extract and detect one page in a pool worker (module-level, picklable).

    ``hints`` may hold ``sitemap_date``, ``content_type``, ``language`` (the
    source's) and ``detect`` (False skips detection).
    """
    started = datetime.now()
    try:
        article = extract_document(
            html,
            url,
            feed_date=feed_date,
            sitemap_date=hints.get("sitemap_date"),
            content_type=hints.get("content_type"),
            language_hint=hints.get("language"),
        )
    except ExtractionFailed as exc:
        return {"ok": False, "reason": str(exc)}
    except Exception as exc:  # never let one page take the worker down
        LOGGER.exception("unexpected extraction error on %s", url)
        return {"ok": False, "reason": f"unexpected extraction error: {type(exc).__name__}: {exc}"}
    detection = run_detection(article) if hints.get("detect", True) else None
    elapsed = (datetime.now() - started).total_seconds()
    return {"ok": True, "article": article, "detection": detection, "seconds": elapsed}


__all__ = [
    "ExtractionFailed",
    "PubDate",
    "TRAFILATURA_OPTIONS",
    "decode_html",
    "extract_document",
    "extract_page",
    "extract_worker",
    "run_detection",
    "warm_worker",
]
