"""Canonical article URLs: one spelling per article, so each is fetched once.

:func:`canonicalize_url` is what ``articles.url`` holds and what the crawler
checks before it schedules a download. It

- normalises with courlan (lower-case scheme and host, default port dropped,
  percent-encoding and path normalised, query parameters sorted);
- drops tracking parameters (``utm_*``, ``traffic_source``, ``fbclid``,
  ``gclid``, ``mc_cid`` ... and courlan's own tracker list);
- folds AMP variants onto the article itself: an ``/amp/`` or ``/amp`` path
  segment, a ``.amp`` / ``.amp.html`` suffix, an ``amp.`` subdomain and the
  ``amp``, ``amp=1``, ``outputType=amp`` query parameters;
- drops the fragment.

Other query parameters are kept: many sites address an article by one
(``?p=209323``, ``?story=123``), and dropping them would merge different
articles into one.

:func:`resolve_link` makes a link from a feed absolute and tells why it is
refused when it cannot be an article (``javascript:``, ``mailto:``, ``data:``,
other schemes, no host).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url, scrub_url
from courlan.clean import TRACKERS_RE

LOGGER = logging.getLogger(__name__)

#: tracking parameters removed besides courlan's own list (compared lower-case)
TRACKING_PARAMS = frozenset(
    {
        "traffic_source", "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "wt_mc", "wt.mc_id",
        "cmpid", "ito", "ncid", "sr_share", "smid", "share", "at_medium",
        "at_campaign", "ocid", "cid", "spm", "ref", "ref_src", "ref_url",
        "taid", "guccounter", "guce_referrer", "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_", "utm-", "pk_", "mtm_", "hmb_", "at_", "__twitter")

AMP_PARAMS = {"amp": {"", "1", "true", "yes"}, "outputtype": {"amp"}, "output": {"amp"}}
AMP_SEGMENT_RE = re.compile(r"/amp(?=/|$)", re.IGNORECASE)
AMP_SUFFIX_RE = re.compile(r"(?:\.amp(?=\.html?$|$))|(?:/amp\.html?$)", re.IGNORECASE)

REFUSED_SCHEMES = ("javascript:", "data:", "mailto:", "tel:", "sms:", "ftp:", "file:", "about:")


class LinkRefused(ValueError):
    "The link cannot be an article URL"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    if lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES):
        return True
    return bool(TRACKERS_RE.search(lowered)) and lowered not in {"p", "id", "page"}


def _is_amp_param(name: str, value: str) -> bool:
    allowed = AMP_PARAMS.get(name.lower())
    return allowed is not None and value.lower() in allowed


def _fold_amp_path(path: str) -> str:
    folded = AMP_SEGMENT_RE.sub("", path)
    folded = AMP_SUFFIX_RE.sub("", folded)
    if path and not folded:
        folded = "/"
    return folded


def canonicalize_url(url: str) -> str:
    """Return the canonical spelling of article ``url``.

    Raises :class:`LinkRefused` when ``url`` is not an absolute http(s) URL.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:  # "http://[", "http://a:99999/": urllib refuses them
        raise LinkRefused(f"malformed URL ({exc}): {url[:200]!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise LinkRefused(f"not an absolute http(s) URL: {url[:200]!r}")
    host = hostname.lower().rstrip(".")
    if host.startswith("amp.") and host.count(".") >= 2:
        host = host[4:]
    netloc = host if ":" not in host else f"[{host}]"
    if port and port not in (80, 443):
        netloc = f"{netloc}:{port}"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name) and not _is_amp_param(name, value)
    ]
    path = _fold_amp_path(parts.path) or "/"
    rebuilt = urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))
    try:
        normalized = normalize_url(scrub_url(rebuilt), strict=False)
    except (ValueError, AttributeError) as exc:  # courlan raises on odd input
        LOGGER.debug("courlan could not normalise %s: %s", rebuilt, exc)
        normalized = rebuilt
    # courlan keeps the port as written; drop the default one either way
    return normalized.split("#", 1)[0]


def resolve_link(link: str | None, base_url: str) -> str:
    """Make feed link ``link`` absolute against ``base_url`` and canonicalise it.

    Raises :class:`LinkRefused` with the reason for links that cannot be
    articles: empty, ``javascript:``/``data:``/``mailto:``, non-http(s).
    """
    if not link or not link.strip():
        raise LinkRefused("empty link")
    link = "".join(link.split())
    lowered = link.lower()
    if lowered.startswith(REFUSED_SCHEMES):
        raise LinkRefused(f"{lowered.split(':', 1)[0]}: link is not an article: {link[:120]!r}")
    try:
        absolute = urljoin(base_url, link)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError as exc:  # "http://[": urllib refuses it
        raise LinkRefused(f"malformed URL ({exc}): {link[:120]!r}") from exc
    if scheme not in ("http", "https"):
        raise LinkRefused(f"{scheme or 'no'} scheme is not http(s): {link[:120]!r}")
    return canonicalize_url(absolute)


def same_site(url_a: str, url_b: str) -> bool:
    """Return True when both URLs are on the same host, ignoring ``www.``/``amp.``."""

    def host(url: str) -> str:
        name = (urlsplit(url).hostname or "").lower()
        for prefix in ("www.", "amp.", "m."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        return name

    return bool(host(url_a)) and host(url_a) == host(url_b)
