"""Real per-annotator labels of ConvAbuse (../shared/datasets/convabuse), for reference tests.

The wide split files hold one row per item and 17 label columns per annotator (Annotator1..8,
in blocks of 17 from column 7; read by position because one header is misspelt). A cell that
is empty means the annotator did not label the item. 345 cells hold repeat judgments of the
same annotator ("1, 0"); the first judgment is used.
"""

import numpy as np
import pytest

from tests.shared_data import shared_datasets

DATASET = shared_datasets() / "convabuse"
SPLITS = ("train", "valid", "test")
N_ANNOTATORS = 8
N_LABELS = 17


@pytest.fixture(scope="session")
def convabuse() -> dict:
    """``labels``: (items, annotators, 17) float, NaN where not labeled; ``names``: the 17
    label names; ``rated``: (items, annotators) bool."""
    files = [DATASET / f"ConvAbuseEMNLP{split}.csv.gz" for split in SPLITS]
    if not all(f.exists() for f in files):
        pytest.skip(f"ConvAbuse dataset not found at {DATASET} (shared datasets not mounted)")
    import pandas as pd

    frames = [pd.read_csv(f, dtype=str) for f in files]
    df = pd.concat(frames, ignore_index=True)
    block = df.iloc[:, 7 : 7 + N_LABELS * N_ANNOTATORS]
    first = block.apply(lambda col: col.str.split(",").str[0])
    values = first.to_numpy(dtype=float).reshape(len(df), N_ANNOTATORS, N_LABELS)
    # A labeled item has its severity (the first five columns, one-hot) filled in.
    rated = ~np.isnan(values[:, :, :5]).any(axis=2)
    labels = np.where(rated[:, :, None], np.nan_to_num(values), np.nan)
    names = [c.split("_", 1)[1] for c in df.columns[7 : 7 + N_LABELS]]
    return {"labels": labels, "names": names, "rated": rated}
