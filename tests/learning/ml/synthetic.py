"""Small synthetic labeled text sets for the pure learning core (no database, no files)."""

import numpy as np

NOISE = [f"filler{i}" for i in range(40)]


def category_word(c: int, k: int) -> str:
    return f"cat{c}word{k}"


def make_dataset(
    n: int,
    prevalence: list[float],
    *,
    multi_label: bool,
    seed: int = 0,
    words_per_text: int = 6,
) -> tuple[list[str], list[str], np.ndarray]:
    """n texts whose positives for category c contain words only category c uses.

    Returns texts, urls (category 0 positives link to a telltale domain) and Y (n, C).
    Single-label: each row gets at most one category (by prevalence), else "none of these".
    """
    rng = np.random.default_rng(seed)
    C = len(prevalence)
    Y = np.zeros((n, C), dtype=np.int8)
    if multi_label:
        Y[:] = rng.random((n, C)) < np.array(prevalence)
    else:
        p = np.array([*prevalence, max(0.0, 1.0 - sum(prevalence))])
        cls = rng.choice(C + 1, size=n, p=p / p.sum())
        rows = np.flatnonzero(cls < C)
        Y[rows, cls[rows]] = 1
    texts, urls = [], []
    for i in range(n):
        words = list(rng.choice(NOISE, size=words_per_text))
        for c in np.flatnonzero(Y[i]):
            words += [category_word(c, int(k)) for k in rng.choice(3, size=2)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        urls.append(f"https://shop{i % 7}.bad-example.com/item/{i}" if Y[i, 0] else "")
    return texts, urls, Y
