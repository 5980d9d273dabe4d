"""Per-phase timings of a background run (a model run, a label-noise check), and its progress
written to the run row as it goes, for the page that polls it."""

from __future__ import annotations

import time
from contextlib import contextmanager


class RunClock:
    """`model`: the run's model class (ModelRun, NoiseRun): rows with `status` (its
    `Status.RUNNING`), `phase` and `progress`."""

    def __init__(self, model, run_id: int):
        self.model = model
        self.run_id = run_id
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()

    def report(self, phase: str, fraction: float) -> None:
        # Autocommit: its own tiny statement, visible to the polling page at once. A run that
        # is no longer running (ended by the stale timeout) is left as it is.
        self.model.objects.filter(pk=self.run_id, status=self.model.Status.RUNNING).update(
            phase=phase, progress=min(1.0, max(0.0, float(fraction)))
        )

    @contextmanager
    def phase(self, name: str):
        self.report(name, 0.0)
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - start, 3)

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.monotonic() - self.started, 3)}
