"""Agreement and annotator-quality snapshots of a project (issue 3, parts 3–5).

- `snapshots`: request (debounced), claim, compute and store snapshots; the beat sweep.
- `load`: bulk reads of a project's annotations, gold labels and skips into arrays.
- `figures` / `quality`: the snapshot document from those arrays (no Django), calling the
  pure statistics in `annotation.agreement`.
"""

from .snapshots import (
    agreement_note_change,
    agreement_snapshot_compute,
    agreement_snapshot_request,
    agreement_snapshot_run,
    agreement_sweep,
)

__all__ = [
    "agreement_note_change",
    "agreement_snapshot_compute",
    "agreement_snapshot_request",
    "agreement_snapshot_run",
    "agreement_sweep",
]
