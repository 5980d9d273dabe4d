"""Writes of the datacards app (services own every write; see STYLE.md).

- `versions`: start a freeze, publish, edit sections, delete a draft, add a curation note.
- `freeze` (with `rows`, `card`, `stream`): the freeze task's work.
- `exports`: export jobs and their writers.
"""
