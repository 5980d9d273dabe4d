"""Text features: TF-IDF word n-grams, character n-grams and URL/domain tokens.

A `Featurizer` turns `texts` and `urls` (two lists of equal length n) into one sparse
(n, F) float32 matrix, the horizontal stack of up to three blocks, each L2-normalised:

- word: word 1–2-grams (`FeatureConfig.word_ngrams`), sublinear TF, IDF;
- char: character n-grams inside word boundaries (`char_ngrams`), sublinear TF, IDF;
- url: tokens of the item's URL and of URLs found in its text (`url_tokens`): every domain
  suffix (`d:forum.example.co.uk`, `d:example.co.uk`, `d:co.uk`), the host labels, the top-level
  domain and the words of the path and query. Domains are what web-filter categories hinge on.

The featurizer is unsupervised (it never sees labels). With `hashing=True` the word, char and
url blocks are hashed into `n_features` columns each (no vocabulary to hold in memory, for very
large pools); IDF weights are still learned from the texts given to `fit`, and hashed columns
seen in fewer than `min_df` of them are dropped the same way.

Transforming is what scoring a pool costs: the char block and the word block (vocabulary mode)
count n-grams with `learning/ml/fast_counts.py`, exactly the vectorizers' counts, made with much
less Python per text.

Its state is plain arrays and term lists (no pickle), so a saved model loads safely and
survives scikit-learn upgrades: see `learning/ml/artifact.py`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

from learning.ml.fast_counts import CharWordCounts, WordIndex, WordNgramCounts

_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")
_WORD = re.compile(r"[a-z0-9]{2,}")
_HOST = re.compile(r"^[a-z0-9.-]+$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@dataclass(frozen=True)
class FeatureConfig:
    """How texts and URLs become features (stored with every model run)."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    url_tokens: bool = True
    hashing: bool = False
    n_features: int = 2**20  # per block, only with hashing
    min_df: int = 2  # a term seen in fewer training texts is dropped (vocabulary mode)
    max_features: int | None = 200_000  # per block, most frequent terms (vocabulary mode)

    def __post_init__(self) -> None:
        for name in ("word_ngrams", "char_ngrams"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 1 <= low <= high")
            object.__setattr__(self, name, (int(low), int(high)))
        if self.n_features < 2 or self.min_df < 1:
            raise ValueError("n_features must be >= 2 and min_df >= 1")
        if self.max_features is not None and self.max_features < 1:
            raise ValueError("max_features must be positive or None")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["word_ngrams"] = list(self.word_ngrams)
        d["char_ngrams"] = list(self.char_ngrams)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for name in ("word_ngrams", "char_ngrams"):
            if name in known:
                known[name] = tuple(known[name])
        return cls(**known)


def url_tokens(url: str) -> list[str]:
    """Tokens of one URL or bare domain: domain suffixes, host labels, TLD, path words."""
    url = url.strip().lower()
    if not url:
        return []
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # malformed (e.g. a bad IPv6 literal): keep only its words
        return ["p:" + w for w in _WORD.findall(url)]
    tokens: list[str] = []
    host = host.removeprefix("www.")
    if host and _IPV4.match(host):
        tokens.append("d:" + host)  # an address, not a hierarchy of domains
    elif host and _HOST.match(host):
        labels = [label for label in host.split(".") if label]
        for i in range(max(1, len(labels) - 1)):  # a one-label host (intranet) is its own domain
            tokens.append("d:" + ".".join(labels[i:]))
        if len(labels) > 1:
            tokens.append("tld:" + labels[-1])
        tokens.extend("h:" + label for label in labels[:-1])
    tokens.extend("p:" + w for w in _WORD.findall(f"{parts.path} {parts.query}"))
    return tokens


def url_document(text: str, url: str) -> list[str]:
    """URL tokens of an item: its URL field plus every URL written in its text."""
    tokens = url_tokens(url) if url else []
    for found in _URL_IN_TEXT.findall(text):
        tokens.extend(url_tokens(found))
    return tokens


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@dataclass
class FeatureBlock:
    """One feature block: a vectorizer whose fitted state is a term list and an IDF array."""

    kind: str  # "word" | "char" | "url"
    idf: np.ndarray  # (width,) float
    terms: list[str] | None = None  # vocabulary mode: column j is terms[j]; None when hashing
    _vectorizer: Any = field(default=None, repr=False)
    _transformer: Any = field(default=None, repr=False)
    _counts: Any = field(default=None, repr=False)  # see `_fast_counts`

    @property
    def width(self) -> int:
        return int(self.idf.shape[0])


def _analyzer_params(kind: str, config: FeatureConfig) -> dict[str, Any]:
    if kind == "word":
        return {"analyzer": "word", "ngram_range": config.word_ngrams, "lowercase": True}
    if kind == "char":
        return {"analyzer": "char_wb", "ngram_range": config.char_ngrams, "lowercase": True}
    return {"analyzer": _identity, "lowercase": False}


def _block_input(kind: str, texts: list[str], urls: list[str]) -> list[Any]:
    if kind == "url":
        return [url_document(t, u) for t, u in zip(texts, urls, strict=True)]
    return texts


def _tfidf(kind: str, config: FeatureConfig, vocabulary: dict[str, int] | None) -> TfidfVectorizer:
    return TfidfVectorizer(
        **_analyzer_params(kind, config),
        min_df=1 if vocabulary is not None else config.min_df,
        max_features=None if vocabulary is not None else config.max_features,
        vocabulary=vocabulary,
        sublinear_tf=True,
        dtype=np.float32,
    )


def _hasher(kind: str, config: FeatureConfig) -> HashingVectorizer:
    return HashingVectorizer(
        **_analyzer_params(kind, config),
        n_features=config.n_features,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


class Featurizer:
    """Fitted feature extraction. `transform(texts, urls)` -> sparse CSR (n, width) float32."""

    def __init__(self, config: FeatureConfig, blocks: list[FeatureBlock]):
        self.config = config
        self.blocks = blocks
        self._words = WordIndex()  # the words of the texts transformed, for the fast counts
        for block in blocks:
            self._attach(block)

    @property
    def width(self) -> int:
        return sum(b.width for b in self.blocks)

    def _attach(self, block: FeatureBlock) -> None:
        """Build the block's scikit-learn transformer from its plain state."""
        block._transformer = TfidfTransformer(sublinear_tf=True)
        block._transformer.idf_ = block.idf
        if self.config.hashing:
            block._vectorizer = _hasher(block.kind, self.config)
            vocabulary = None
        else:
            assert block.terms is not None
            vocabulary = {term: j for j, term in enumerate(block.terms)}
            block._vectorizer = _tfidf(block.kind, self.config, vocabulary)
            block._vectorizer.idf_ = block.idf
        block._counts = _fast_counts(block.kind, self.config, vocabulary)

    def transform(self, texts: list[str], urls: list[str]) -> sp.csr_matrix:
        if len(texts) != len(urls):
            raise ValueError("texts and urls must have the same length")
        parts = []
        words = None
        for block in self.blocks:
            if block._counts is not None:  # the vectorizer's counts, made faster
                words = self._words.add(texts) if words is None else words
                parts.append(_tfidf_of_counts(block._counts.count(words), block._transformer))
                continue
            data = _block_input(block.kind, texts, urls)
            if self.config.hashing:
                parts.append(
                    _tfidf_of_counts(block._vectorizer.transform(data), block._transformer)
                )
            else:
                parts.append(block._vectorizer.transform(data))
        if not parts:
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        return sp.hstack(parts, format="csr", dtype=np.float32)


def _fast_counts(kind: str, config: FeatureConfig, vocabulary: dict[str, int] | None):
    """The block's counter for `transform` (learning/ml/fast_counts.py: the vectorizer's own
    counts, made with much less Python per text), or None where the vectorizer is used."""
    if kind == "char":
        params = {"analyzer": "char_wb", "ngram_range": config.char_ngrams, "lowercase": False}
        if vocabulary is None:
            return CharWordCounts(
                HashingVectorizer(
                    **params,
                    n_features=config.n_features,
                    alternate_sign=False,
                    norm=None,
                    dtype=np.float32,
                )  # fmt: skip
            )
        return CharWordCounts(CountVectorizer(**params, vocabulary=vocabulary, dtype=np.float32))
    if kind == "word" and vocabulary is not None and config.word_ngrams[1] <= 2:
        return WordNgramCounts(vocabulary, config.word_ngrams)
    return None


def _tfidf_of_counts(counts: sp.csr_matrix, transformer: TfidfTransformer) -> sp.csr_matrix:
    """TF-IDF of counts (sublinear TF, IDF, L2 rows: what the vectorizers do); hashed columns
    with IDF 0 (below min_df) are dropped from storage."""
    X = transformer.transform(counts)
    X.eliminate_zeros()
    return X


def _kinds(config: FeatureConfig) -> list[str]:
    return ["word", "char"] + (["url"] if config.url_tokens else [])


def fit_featurizer(texts: list[str], urls: list[str], config: FeatureConfig) -> Featurizer:
    """Learn vocabularies (or hashed IDF) from n texts and their URLs (no labels needed)."""
    return fit_transform(texts, urls, config)[0]


def fit_transform(
    texts: list[str], urls: list[str], config: FeatureConfig
) -> tuple[Featurizer, sp.csr_matrix]:
    """`fit_featurizer` plus the (n, F) matrix of the same texts, in one pass over them.

    A block with no usable term (e.g. no URLs at all, or too few texts for `min_df`) is left
    out rather than failing: a model on the other blocks is still useful.
    """
    if len(texts) != len(urls):
        raise ValueError("texts and urls must have the same length")
    blocks, parts = [], []
    for kind in _kinds(config):
        data = _block_input(kind, texts, urls)
        if config.hashing:
            counts = _hasher(kind, config).transform(data)
            # min_df holds here too: a hashed column seen in fewer texts gets IDF 0, so it is
            # no feature at all (without it, every one-off n-gram is a column to fit).
            df = np.bincount(counts.indices, minlength=counts.shape[1])
            if not (df >= config.min_df).any():
                continue
            idf = TfidfTransformer().fit(counts).idf_ * (df >= config.min_df)
            block = FeatureBlock(kind=kind, idf=idf.astype(np.float64))
            transformer = TfidfTransformer(sublinear_tf=True)
            transformer.idf_ = block.idf
            parts.append(_tfidf_of_counts(counts, transformer))
            blocks.append(block)
            continue
        vectorizer = _tfidf(kind, config, None)
        try:
            parts.append(vectorizer.fit_transform(data))
        except ValueError:  # empty vocabulary after min_df / no tokens at all
            continue
        terms = [""] * len(vectorizer.vocabulary_)
        for term, j in vectorizer.vocabulary_.items():
            terms[j] = term
        blocks.append(FeatureBlock(kind=kind, idf=vectorizer.idf_.astype(np.float64), terms=terms))
    featurizer = Featurizer(config, blocks)
    if not parts:
        return featurizer, sp.csr_matrix((len(texts), 0), dtype=np.float32)
    return featurizer, sp.hstack(parts, format="csr", dtype=np.float32)
