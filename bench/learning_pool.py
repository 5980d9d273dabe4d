"""Synthetic but realistic unlabeled items for the model-run benchmark's large pools.

Real comments, tweets, SMS and chatbot messages from ../shared/datasets (GoEmotions train, dev
and test; Davidson; SMS Spam; ConvAbuse users' turns) are cut into sentences, and each
synthetic item joins 1–3 sentences drawn from different texts with a seeded RNG: the same
vocabulary, spelling, length and mix of clean and abusive language as the real data, but items
that are not copies of the gold set. A quarter of the items get a URL from the UT1 web-filter
lists (host and path, so the URL feature block has work), and a few carry a URL in their text.

`synthetic_items(n, seed)` yields (text, url) pairs; the same n and seed give the same items.
"""

from __future__ import annotations

import csv
import gzip
import random
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"

# Sentence ends followed by space; the pieces keep their punctuation.
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
FRAGMENTS_PER_ITEM = (1, 2, 3)
FRAGMENT_WEIGHTS = (0.45, 0.4, 0.15)
URL_SHARE = 0.25
URL_IN_TEXT_SHARE = 0.05


def _goemotions() -> list[str]:
    texts = []
    for split in ("train", "dev", "test"):
        with gzip.open(DATASETS / "goemotions" / f"{split}.tsv.gz", "rt", encoding="utf-8") as f:
            texts += [line.split("\t", 1)[0] for line in f]
    return texts


def _davidson() -> list[str]:
    path = DATASETS / "davidson_hate_offensive" / "labeled_data.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [row["tweet"] for row in csv.DictReader(f)]


def _sms() -> list[str]:
    text = (DATASETS / "sms_spam" / "SMSSpamCollection.tsv").read_bytes()
    lines = text.decode("utf-8", errors="replace").splitlines()
    return [line.split("\t", 1)[1] for line in lines if "\t" in line]


def _convabuse() -> list[str]:
    path = DATASETS / "convabuse" / "ConvAbuseEMNLPfull.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return sorted({row["user"] for row in csv.DictReader(f) if row["user"]})


def _ut1_urls() -> list[str]:
    path = DATASETS / "ut1_url_categories" / "ut1_entries.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        entries = [row["entry"].lstrip(".") for row in csv.DictReader(f)]
    return [f"https://{e}" for e in entries if e]


def fragments() -> list[str]:
    """Every sentence (two words or more) of the source texts, whitespace collapsed."""
    out = []
    for text in _goemotions() + _davidson() + _sms() + _convabuse():
        for piece in _SENTENCE.split(" ".join(text.split())):
            if piece.count(" ") >= 1:
                out.append(piece)
    return out


class Generator:
    """Seeded source of synthetic (text, url) items; load the sources once, then draw."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.fragments = fragments()
        self.urls = _ut1_urls()

    def item(self) -> tuple[str, str]:
        rng = self.rng
        k = rng.choices(FRAGMENTS_PER_ITEM, FRAGMENT_WEIGHTS)[0]
        text = " ".join(rng.choice(self.fragments) for _ in range(k))
        url = rng.choice(self.urls) if rng.random() < URL_SHARE else ""
        if rng.random() < URL_IN_TEXT_SHARE:
            text = f"{text} {rng.choice(self.urls)}"
        return text, url


def synthetic_items(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    generator = Generator(seed)
    for _ in range(n):
        yield generator.item()


def describe(n: int = 20_000, seed: int = 0) -> str:
    """A one-line summary of what the generator makes (for the report)."""
    items = list(synthetic_items(n, seed))
    chars = sorted(len(t) for t, _ in items)
    with_url = sum(1 for _, u in items if u)
    return (
        f"synthetic items: median {chars[len(chars) // 2]} characters, mean "
        f"{sum(chars) / len(chars):.0f}, {100 * with_url / len(items):.0f} % with a URL"
    )
