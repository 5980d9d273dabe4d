"""Where the team's shared labeled datasets are, for reference tests (never the application).

`GOLDSET_SHARED_DATASETS` if set, else `../shared/datasets` beside the checkout, else
`/work/shared/datasets` (where these machines mount them, also for a clone made elsewhere, as
CI makes). Tests that need a dataset skip with the path they looked at when none exists.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [Path(p) for p in (os.environ.get("GOLDSET_SHARED_DATASETS"),) if p] + [
    ROOT.parent / "shared" / "datasets",
    Path("/work/shared/datasets"),
]


def shared_datasets() -> Path:
    """The first candidate directory that exists (or the first one, for the skip message)."""
    for path in CANDIDATES:
        if path.is_dir():
            return path
    return CANDIDATES[0]
