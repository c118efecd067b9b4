"""Offline text tools for grouping: normalisation, similarity and near-duplicates.

Nothing here downloads anything. Two articles are compared in two ways:

* **similarity** - cosine of hashed character n-gram TF-IDF vectors (3-5
  grams inside word boundaries, scikit-learn's ``HashingVectorizer``). It works
  for any script and tolerates inflection, so an English and an Arabic report
  share the digits, names and Latin loan words they have in common, and two
  English reports of one attack share most of their wording. The document
  frequencies are learnt online from every article the grouper sees (flagged
  or not), so the n-grams of everyday wording ("US troops", "Iraq") weigh
  less than a name or a rare detail ("Tsurkov", "barracks");
* **near-duplicates** - MinHash over word 3-shingles with a datasketch
  ``MinHashLSH`` index: the same wire story republished on several sites
  (syndicated copies) is found in constant time and counts as one source.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

LOGGER = logging.getLogger(__name__)

ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
BOILERPLATE = re.compile(
    r"(read full article at \S+|the post .{0,200}? appeared first on .*$|the post .*$|pic\.twitter\.com/\S+)",
    re.IGNORECASE,
)

NUM_PERM = 128
SHINGLE_WORDS = 3
DEFAULT_DUPLICATE_THRESHOLD = 0.7


def normalise_arabic(text: str) -> str:
    """Fold Arabic letter variants, drop diacritics and tatweel, map digits to ASCII."""
    return ARABIC_DIACRITICS.sub("", text.translate(ARABIC_FOLD)).translate(ARABIC_DIGITS)


def normalise_text(text: str) -> str:
    """Return ``text`` lower-cased, accents and Arabic variants folded, punctuation as spaces.

    The same normalisation is applied to gazetteer variants, so a variant
    matches wherever its words appear in order.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = BOILERPLATE.sub(" ", text)
    text = normalise_arabic(text).lower()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch) or "\u0600" <= ch <= "\u06ff"
    )
    text = text.replace("ł", "l")
    return " ".join(NON_WORD.sub(" ", text).replace("_", " ").split())


def read_article_text(article: dict) -> str:
    """Return the title and text of an article as one string."""
    title = (article.get("title") or "").strip()
    body = (article.get("text") or "").strip()
    if body.startswith(title):
        return body
    return f"{title}. {body}" if title else body


class TextVectoriser:
    """Hashed character n-gram TF vectors (l2-normalised), stateless and offline."""

    def __init__(self, n_features: int = 2**18, ngram_range: tuple[int, int] = (3, 5)) -> None:
        self.vectoriser = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=ngram_range,
            n_features=n_features,
            alternate_sign=False,
            norm="l2",
            dtype=np.float32,  # the rows of open events are kept in memory: half the size of float64
        )

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        """Return one l2-normalised row per text."""
        return self.vectoriser.transform([normalise_text(t) for t in texts]).tocsr()

    def transform_one(self, text: str) -> sparse.csr_matrix:
        """Return the vector of one text (a 1-row matrix)."""
        return self.transform([text])


class DocumentFrequencies:
    """Online document frequencies of hashed n-grams: the IDF half of TF-IDF.

    Vectors are stored as TF rows; :meth:`weigh` applies the current IDF and
    re-normalises, so stored rows never need recomputing as the counts grow.
    """

    def __init__(self, n_features: int = 2**18) -> None:
        self.counts = np.zeros(n_features, dtype=np.float64)
        self.documents = 0

    def observe(self, vector: sparse.csr_matrix) -> None:
        """Count one document (a 1-row TF matrix)."""
        self.counts[vector.indices] += 1
        self.documents += 1

    def weigh(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """Return ``matrix`` (TF rows) with smoothed IDF weights, rows l2-normalised."""
        idf = np.log((1.0 + self.documents) / (1.0 + self.counts[matrix.indices])) + 1.0
        weighted = matrix.copy()
        weighted.data = weighted.data * idf
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1.0 / norms) @ weighted


def compute_cosine(a: sparse.csr_matrix, b: sparse.csr_matrix) -> float:
    """Return the cosine similarity of two l2-normalised 1-row vectors."""
    return float(a.multiply(b).sum())


def compute_max_similarity(
    vector: sparse.csr_matrix, others: sparse.csr_matrix | None, frequencies: DocumentFrequencies | None = None
) -> float:
    """Return the highest cosine between ``vector`` and the rows of ``others`` (TF-IDF when ``frequencies``)."""
    if others is None or others.shape[0] == 0:
        return 0.0
    if frequencies is not None and frequencies.documents:
        vector, others = frequencies.weigh(vector), frequencies.weigh(others)
    return float(np.max(others.dot(vector.T).toarray()))


def build_shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Return the word ``size``-shingles of the normalised text (the words when shorter)."""
    words = normalise_text(text).split()
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def compute_minhash(text: str, num_perm: int = NUM_PERM) -> MinHash:
    """Return the MinHash of the text's word shingles."""
    signature = MinHash(num_perm=num_perm)
    for shingle in build_shingles(text):
        signature.update(shingle.encode("utf-8"))
    return signature


class DuplicateIndex:
    """Finds near-duplicate articles (syndicated copies) with MinHash LSH.

    ``add`` returns the id of the earliest indexed article the new one copies
    (its *origin*), or ``None`` when it is original. Titles are compared as
    well as bodies: RSS entries of one wire story often differ only in the
    description an outlet kept.
    """

    def __init__(self, threshold: float = DEFAULT_DUPLICATE_THRESHOLD, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.signatures: dict[str, MinHash] = {}
        self.origins: dict[str, str] = {}
        self.titles: dict[str, str] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.signatures

    def find_origin(self, key: str, text: str, title: str = "") -> str | None:
        """Return the origin of the most similar earlier near-duplicate of ``text``, or None."""
        title_key = normalise_text(title)
        if len(title_key.split()) >= 5 and title_key in self.titles and self.titles[title_key] != key:
            return self.origins[self.titles[title_key]]
        signature = compute_minhash(text, self.num_perm)
        best: tuple[float, str] | None = None
        for other in self.lsh.query(signature):
            if other == key:
                continue
            score = signature.jaccard(self.signatures[other])
            if score >= self.threshold and (best is None or score > best[0]):
                best = (score, other)
        return self.origins[best[1]] if best else None

    def add(self, key: str, text: str, title: str = "") -> str | None:
        """Index an article; return the origin it copies, or None when it is original."""
        if key in self.signatures:
            origin = self.origins[key]
            return None if origin == key else origin
        origin = self.find_origin(key, text, title)
        signature = compute_minhash(text, self.num_perm)
        self.signatures[key] = signature
        self.origins[key] = origin or key
        self.lsh.insert(key, signature)
        title_key = normalise_text(title)
        if len(title_key.split()) >= 5:
            self.titles.setdefault(title_key, key)
        return origin

    def forget(self, key: str) -> None:
        """Drop an article from the index (its events have closed); copies of it keep their origin's key."""
        if self.signatures.pop(key, None) is None:
            return
        self.lsh.remove(key)
        self.origins.pop(key, None)
        for title_key in [t for t, k in self.titles.items() if k == key]:
            del self.titles[title_key]
