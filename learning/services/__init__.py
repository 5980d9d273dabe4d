"""Writes of the learning app, split by area: `config` (a project's learning settings and
keyword seeds), `runs` (requesting runs, triggers, stale runs), `execute` (running one run:
claim, read, compute, save) and `picks` (writing a run's picks into the queue)."""
